import ProgramSupport
import Testing

@Suite("PrometheusText: the text exposition format, escaped and cumulative")
struct PrometheusTextTests {
    @Test("a family has HELP and TYPE once, then its samples; label values are escaped, integers have no decimal point")
    func familyAndSamples() {
        var page = PrometheusText()
        page.family("snapfleet_x_total", "counter", help: "Things\ncounted \\ here.")
        page.sample("snapfleet_x_total", [("server", "a\"b\\c\nd")], 3)
        page.sample("snapfleet_x_total", [], 0.25)
        #expect(
            page.text == """
                # HELP snapfleet_x_total Things\\ncounted \\\\ here.
                # TYPE snapfleet_x_total counter
                snapfleet_x_total{server="a\\"b\\\\c\\nd"} 3
                snapfleet_x_total 0.25

                """)
    }

    @Test("a histogram's buckets are cumulative, end with +Inf, and carry _sum and _count")
    func histogram() {
        var histogram = Histogram(bounds: [1, 5, 10])
        for value in [0.5, 3, 3, 7, 60] { histogram.observe(value) }
        #expect(histogram.cumulativeCounts == [1, 3, 4])
        var page = PrometheusText()
        page.histogram("w", [("k", "v")], histogram)
        #expect(
            page.text.split(separator: "\n") == [
                #"w_bucket{k="v",le="1"} 1"#, #"w_bucket{k="v",le="5"} 3"#, #"w_bucket{k="v",le="10"} 4"#, #"w_bucket{k="v",le="+Inf"} 5"#,
                #"w_sum{k="v"} 73.5"#, #"w_count{k="v"} 5"#,
            ])
    }
}
