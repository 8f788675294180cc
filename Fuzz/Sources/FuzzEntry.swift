import Foundation

/// One parser under libFuzzer: `check` parses the input and stops the process (a finding libFuzzer
/// saves) when a property does not hold, not only when the parser crashes.
protocol Fuzzer {
    static var name: String { get }
    static func check(_ input: [UInt8])
}

/// Every fuzzer, by the name `scripts/fuzz.sh` passes in `GHL_FUZZ_TARGET` (one binary, one build).
enum FuzzTargets {
    static let all: [any Fuzzer.Type] = [
        CanonicalTargetFuzzer.self, FormDecoderFuzzer.self, JSONTargetFuzzer.self, MultipartFuzzer.self, MediaTypeFuzzer.self,
        ScopeTableFuzzer.self, OpenAPISpecFuzzer.self, PolicyFileFuzzer.self, ConfigurationFuzzer.self, WebhookVerifierFuzzer.self,
        UpstreamResponseFuzzer.self,
    ]

    static let selected: any Fuzzer.Type = {
        let name = ProcessInfo.processInfo.environment["GHL_FUZZ_TARGET"] ?? ""
        guard let target = all.first(where: { $0.name == name }) else {
            fatalError("GHL_FUZZ_TARGET must be one of: \(all.map { $0.name }.joined(separator: ", "))")
        }
        return target
    }()
}

/// A property that failed: the message names it and the input, then the process stops.
func violated(_ property: String, _ input: [UInt8]) -> Never {
    fatalError("\(property); input: \(String(decoding: input, as: UTF8.self).debugDescription)")
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzTargets.selected.check(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// libFuzzer's driver, entered from the executable's own entry point (the package manager names it).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

@_cdecl("ghl_fuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
