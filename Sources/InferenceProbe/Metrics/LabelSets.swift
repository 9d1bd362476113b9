/// Label sets rendered for the text format (`target="a",model="m",...`), one after another in one buffer
/// and found by number. A scrape writes each set dozens of times; a set kept in an array of its own was
/// retained and released at every line (a third of a fleet's scrape went to reference counting).
struct LabelSets: Sendable {
    private var bytes: [UInt8] = []
    /// Where each set ends in `bytes`.
    private var ends: [Int] = []

    var count: Int { ends.count }

    /// Adds a rendered set as the last one.
    mutating func append(_ set: some Collection<UInt8>) {
        bytes.append(contentsOf: set)
        ends.append(bytes.count)
    }

    /// Removes set number `number`; those after it move down one.
    mutating func remove(at number: Int) {
        let range = start(of: number)..<ends[number]
        bytes.removeSubrange(range)
        ends.remove(at: number)
        for later in number..<ends.count { ends[later] -= range.count }
    }

    /// Set number `number`'s bytes.
    subscript(number: Int) -> ArraySlice<UInt8> {
        bytes[start(of: number)..<ends[number]]
    }

    /// Lends the sets as raw bytes while `body` runs.
    func withUnsafeSets<Result>(_ body: (Lent) -> Result) -> Result {
        bytes.withUnsafeBytes { bytes in
            ends.withUnsafeBufferPointer { ends in body(Lent(bytes: bytes, ends: ends)) }
        }
    }

    /// The sets, lent: valid only in the closure given to `withUnsafeSets`.
    struct Lent {
        fileprivate let bytes: UnsafeRawBufferPointer
        fileprivate let ends: UnsafeBufferPointer<Int>

        subscript(number: Int) -> UnsafeRawBufferPointer {
            let start = number == 0 ? 0 : ends[number - 1]
            return UnsafeRawBufferPointer(rebasing: bytes[start..<ends[number]])
        }
    }

    private func start(of number: Int) -> Int {
        number == 0 ? 0 : ends[number - 1]
    }
}
