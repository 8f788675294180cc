/// The target of a request: the location and company it acts on, where known.
package struct RequestTarget: Sendable, Equatable {
    package var location: String?
    package var company: String?

    package init(location: String? = nil, company: String? = nil) {
        self.location = location
        self.company = company
    }
}
