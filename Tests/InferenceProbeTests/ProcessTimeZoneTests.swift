@testable import InferenceProbe
import Testing

@Suite("Process time zone")
struct ProcessTimeZoneTests {
    @Test func onlyAMachineOnUTCHasItsZoneNamedGMT() {
        #expect(ProcessTimeZone.isUTC(localtime: .missing))  // libc reads no /etc/localtime as UTC
        #expect(ProcessTimeZone.isUTC(localtime: .link("/usr/share/zoneinfo/Etc/UTC")))
        #expect(ProcessTimeZone.isUTC(localtime: .link("../usr/share/zoneinfo/UTC")))
        #expect(ProcessTimeZone.isUTC(localtime: .link("/usr/share/zoneinfo/Etc/GMT")))
        #expect(ProcessTimeZone.isUTC(localtime: .link("/usr/share/zoneinfo/Zulu")))
        // GMT in winter only, one hour off, a copied zone file whose zone is unknown, no tzdata path
        #expect(!ProcessTimeZone.isUTC(localtime: .link("/usr/share/zoneinfo/Europe/London")))
        #expect(!ProcessTimeZone.isUTC(localtime: .link("/usr/share/zoneinfo/Etc/GMT+1")))
        #expect(!ProcessTimeZone.isUTC(localtime: .file))
        #expect(!ProcessTimeZone.isUTC(localtime: .link("/opt/zones/UTC")))
    }
}
