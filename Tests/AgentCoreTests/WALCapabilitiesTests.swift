import Foundation
import SnapfleetCore
import SnapfleetProtocol
import TestSupport
import Testing

@testable import AgentCore

/// The URL cache on its own, with the clock passed in.
@Suite("WALCapabilities: signed URLs held between controller answers until a minute before they expire")
struct WALCapabilitiesTests {
    @Test("a URL is reused until a minute before it expires; then it and the files expected next are asked for again")
    func reuseUntilExpiry() throws {
        let store = try TestHTTPServer()
        let controller = ScriptedController(store: store)
        let capabilities = WALCapabilities(controller: controller.asker)
        let now = Date()
        let first = try capabilities.archive(segment(1), ahead: [segment(2), segment(3)], now: now)
        #expect(first.put?.url == store.objectURL(controller.key(segment(1)), query: "sig=1"))
        #expect(first.put?.headers == ["if-none-match": "*"])
        #expect(first.head?.method == "HEAD")
        #expect(controller.urlRequests == [.init(purpose: .archive, names: [segment(1), segment(2), segment(3)])])

        #expect(try capabilities.archive(segment(2), ahead: [], now: now.addingTimeInterval(3000)).put?.url.hasSuffix("sig=1") == true)
        #expect(capabilities.heldCount([segment(2), segment(3)], now: now.addingTimeInterval(3539)) == 2)
        #expect(capabilities.heldCount([segment(2), segment(3)], now: now.addingTimeInterval(3541)) == 0)
        controller.setClockOffset(3550)
        let late = try capabilities.archive(segment(3), ahead: [segment(4)], now: now.addingTimeInterval(3550))
        #expect(late.put?.url.hasSuffix("sig=2") == true)
        #expect(controller.urlRequests.last == .init(purpose: .archive, names: [segment(3), segment(4)]))
    }

    @Test("a file archived or refused (403) is forgotten; the next archive() asks again")
    func discard() throws {
        let store = try TestHTTPServer()
        let controller = ScriptedController(store: store)
        let capabilities = WALCapabilities(controller: controller.asker)
        _ = try capabilities.archive(segment(1), ahead: [segment(2)])
        capabilities.archived(segment(1))
        capabilities.discard(segment(2))
        #expect(capabilities.heldCount([segment(1), segment(2)]) == 0)
        _ = try capabilities.archive(segment(2), ahead: [])
        #expect(controller.urlRequests.count == 2)
    }

    @Test("refill asks for the missing URLs 64 at a time once fewer than half are held, and keeps quiet when the controller is away")
    func refill() throws {
        let store = try TestHTTPServer()
        let controller = ScriptedController(store: store)
        let capabilities = WALCapabilities(controller: controller.asker)
        let following = (1...200).map { segment($0) }
        capabilities.refill(following)
        #expect(controller.urlRequests.map(\.names.count) == [64, 64, 64, 8])
        #expect(controller.urlRequests.flatMap(\.names) == following)
        capabilities.refill(following)
        #expect(controller.urlRequests.count == 4, "all held: nothing asked")

        for name in following.prefix(100) { capabilities.discard(name) }
        capabilities.refill(following)
        #expect(controller.urlRequests.count == 4, "100 of 200 held is not fewer than half")
        capabilities.discard(following[100])
        capabilities.refill(following)
        #expect(controller.urlRequests.suffix(2).map(\.names.count) == [64, 37], "the 101 missing ones")

        controller.setUnreachable(true)
        for name in following.prefix(150) { capabilities.discard(name) }
        capabilities.refill(following)
        #expect(controller.urlRequests.count == 7, "one failed request, no error: the next upload that needs a URL will ask")
    }
}
