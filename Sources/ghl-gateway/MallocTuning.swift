/// glibc's allocator makes up to eight arenas per core, each keeping its own free memory resident;
/// a proxy whose threads allocate small, short-lived objects does as well with two, in less memory.
enum MallocTuning {
    #if canImport(Glibc)
    @_silgen_name("mallopt")
    private static func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

    /// `M_ARENA_MAX` from `<malloc.h>`, which Swift's Glibc module does not export.
    private static let arenaMax: Int32 = -8
    #endif

    static func limitArenas() {
        #if canImport(Glibc)
        _ = mallopt(arenaMax, 2)
        #endif
    }
}
