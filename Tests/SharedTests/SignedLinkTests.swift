import Foundation
import Shared
import Testing

@Suite("Signed links")
struct SignedLinkTests {
    let links = try! SignedLink(base: "https://12345.xa.gov.cn/h", secret: "a-link-secret-of-some-length")
    let now = Date(timeIntervalSince1970: 1_764_000_000)

    @Test func aLinkOpensItsTicketForItsUnitUntilItExpires() throws {
        let link = links.make(ticketNo: "20261125-000123", unit: "XA-CGJ", expires: now.addingTimeInterval(3600))
        #expect(link.hasPrefix("https://12345.xa.gov.cn/h?t=20261125-000123&u=XA-CGJ&e="))
        let named = try links.verify(link, now: now)
        #expect(named.ticketNo == "20261125-000123" && named.unit == "XA-CGJ")
        #expect(throws: SignedLink.Failure.expired(now.addingTimeInterval(3600))) { try links.verify(link, now: now.addingTimeInterval(3601)) }
    }

    @Test func changedOrForeignLinksAreRefused() throws {
        let link = links.make(ticketNo: "20261125-000123", unit: "XA-CGJ", expires: now.addingTimeInterval(3600))
        #expect(throws: SignedLink.Failure.tampered) { try links.verify(link.replacingOccurrences(of: "000123", with: "000124"), now: now) }
        #expect(throws: SignedLink.Failure.tampered) { try links.verify(link.replacingOccurrences(of: "XA-CGJ", with: "XA-ZJJ"), now: now) }
        let later = String(Int64(now.timeIntervalSince1970) + 999_999)
        let stretched = link.replacingOccurrences(of: #"e=\d+"#, with: "e=\(later)", options: .regularExpression)
        #expect(throws: SignedLink.Failure.tampered) { try links.verify(stretched, now: now) }
        let other = try SignedLink(base: "https://12345.xa.gov.cn/h", secret: "another-secret-entirely")
        #expect(throws: SignedLink.Failure.tampered) { try other.verify(link, now: now) }
        #expect(throws: SignedLink.Failure.self) { try links.verify("https://12345.xa.gov.cn/h?t=1&u=2", now: now) }
        #expect(throws: SignedLink.Failure.self) { try links.verify(link + "&t=20261125-000999", now: now) }
    }

    @Test func aShortSecretOrABadAddressIsAConfigurationError() {
        #expect(throws: ConfigurationError.self) { try SignedLink(base: "https://x.cn/h", secret: "short") }
        #expect(throws: ConfigurationError.self) { try SignedLink(base: "not a url", secret: "long-enough-secret-123") }
    }
}
