import Catalog
import Testing

@Suite("KeepTarget")
struct KeepTargetTests {
    @Test("bodies are the bare words and read back as barman reads them")
    func bodies() {
        #expect(KeepTarget.full.annotationBody == "full" && KeepTarget.standalone.annotationBody == "standalone")
        #expect(KeepTarget(annotationBody: "standalone") == .standalone)
        #expect(KeepTarget(annotationBody: "standalone\n") == .standalone)
        #expect(KeepTarget(annotationBody: "standalone ") == .full)
        #expect(KeepTarget(annotationBody: "anything") == .full)
        #expect(KeepTarget(annotationBody: "") == nil)
    }
}
