#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The name the process gives its time zone, set once at start-up.
public enum ProcessTimeZone {
    /// On a machine whose zone is UTC, with `TZ` unset, sets `TZ=GMT`: the same offset and the same log
    /// timestamps, but Foundation then keeps its built-in GMT zone where, for `Etc/UTC`, it would open ICU's
    /// time-zone database (Hummingbird's `Date` header calendar asks for the current zone at start): 1.4 MB
    /// of idle RSS. Any other zone, and a `TZ` the operator set, are left as they are.
    public static func nameUTCAsGMT() {
        guard getenv("TZ") == nil, isUTC(localtime: localtimeTarget()) else { return }
        setenv("TZ", "GMT", 0)
    }

    /// What `/etc/localtime` names: `.missing` (libc then uses UTC), the path of the zone file it links to,
    /// or `.file` when it is a copy of one (its zone unknown).
    enum Localtime: Equatable {
        case missing
        case link(String)
        case file
    }

    /// Whether the machine's zone is UTC: no `/etc/localtime`, or a link to one of tzdata's names for UTC.
    static func isUTC(localtime: Localtime) -> Bool {
        switch localtime {
        case .missing: return true
        case .file: return false
        case .link(let target): return utcNames.contains { target.hasSuffix("zoneinfo/" + $0) }
        }
    }

    /// tzdata's zones with offset 0 and no daylight saving time (`backward` links included).
    static let utcNames = [
        "UTC", "UCT", "Universal", "Zulu", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich",
        "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0",
        "Etc/Greenwich",
    ]

    private static func localtimeTarget() -> Localtime {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/etc/localtime", &buffer, buffer.count - 1)
        if count >= 0 {
            return .link(buffer.withUnsafeBytes { String(decoding: $0.prefix(count), as: UTF8.self) })
        }
        return errno == ENOENT ? .missing : .file
    }
}
