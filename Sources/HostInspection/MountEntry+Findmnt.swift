extension MountEntry {
    /// The OPTIONS column of `findmnt` for this mount, byte for byte (see `FindmntOptionMerge`).
    public var findmntOptions: String {
        FindmntOptionMerge.merge(vfs: mountOptions, fs: superOptions)
    }

    /// The TARGET column of `findmnt` for this mount, in the given output form.
    public func findmntTarget(_ encoding: FindmntEncoding = .utf8Locale) -> String {
        encoding.encode(mountPoint)
    }
}
