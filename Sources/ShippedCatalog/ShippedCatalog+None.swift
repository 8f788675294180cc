#if SHIPPED_CATALOG_NONE
/// The fuzz build's stand-in (Package.swift, GHL_FUZZ): no built-in catalog.
extension ShippedCatalog {
    static let tableText = ""
    static let overridesText = ""
    static let specTexts: [(name: String, text: String)] = []
}
#endif
