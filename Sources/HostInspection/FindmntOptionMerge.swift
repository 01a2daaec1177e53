/// findmnt's OPTIONS column: libmount's `merge_optstr()` (util-linux 2.38, libmount/src/fs.c).
///
/// libmount joins the per-mount options and the superblock options as `vfs,fs`, removes the
/// first `rw` twice (once for each half), then — unless both halves said `rw` — removes `ro`
/// once or twice, and finally puts a single `ro` (if any `ro` was removed) or `rw` in front.
/// Identical halves are returned unchanged. So `rw,noatime` + `rw,commit=30` gives
/// `rw,noatime,commit=30`, and a read-only bind (`ro,noatime` + `rw,…`) gives `ro,noatime,…`.
/// barman-cloud compares this text verbatim, so the quirks are copied on purpose.
enum FindmntOptionMerge {
    /// The merged option string.
    static func merge(vfs: String, fs: String) -> String {
        if vfs == fs { return vfs }
        var options = Array("\(vfs),\(fs)".utf8)
        var rw = 0
        var ro = 0
        for _ in 0..<2 where remove("rw", from: &options) { rw += 1 }
        if rw != 2 {
            if remove("ro", from: &options) { ro += 1 }
            if ro + rw < 2, remove("ro", from: &options) { ro += 1 }
        }
        let flag = ro > 0 ? "ro" : "rw"
        return options.isEmpty ? flag : "\(flag),\(String(decoding: options, as: UTF8.self))"
    }

    /// `mnt_optstr_remove_option()`: drops the first option named `name` and one adjacent comma.
    private static func remove(_ name: String, from options: inout [UInt8]) -> Bool {
        guard let (begin, found) = locate(Array(name.utf8), in: options) else { return false }
        var end = found
        let comma = UInt8(ascii: ",")
        if (begin == 0 || options[begin - 1] == comma) && end < options.count && options[end] == comma {
            end += 1
        }
        options.removeSubrange(begin..<end)
        if begin == options.count && begin > 0 && options[begin - 1] == comma {
            options.removeSubrange((begin - 1)...)
        }
        return true
    }

    /// `mnt_optstr_locate_option()`: the byte range of the first option whose name is `name`.
    private static func locate(_ name: [UInt8], in options: [UInt8]) -> (Int, Int)? {
        var position = 0
        while let item = nextOption(in: options, from: position) {
            if Array(options[item.name]) == name {
                let end = options[item.next - 1] == UInt8(ascii: ",") ? item.next - 1 : item.next
                return (item.name.lowerBound, end)
            }
            position = item.next
        }
        return nil
    }

    /// `mnt_optstr_parse_next()`: the name range of the next option and where the one after starts.
    private static func nextOption(in options: [UInt8], from position: Int) -> (name: Range<Int>, next: Int)? {
        var start = position
        while start < options.count && options[start] == UInt8(ascii: ",") { start += 1 }
        var quoted = false
        var separator: Int?
        for index in start..<max(start, options.count) {
            let byte = options[index]
            if byte == UInt8(ascii: "\"") { quoted.toggle() }
            if quoted { continue }
            if separator == nil && index > start && byte == UInt8(ascii: "=") { separator = index }
            let stop: Int
            if byte == UInt8(ascii: ",") {
                stop = index
            } else if index + 1 == options.count {
                stop = index + 1
            } else {
                continue
            }
            guard stop > start else { return nil }
            return (start..<(separator ?? stop), stop < options.count ? stop + 1 : stop)
        }
        return nil
    }
}
