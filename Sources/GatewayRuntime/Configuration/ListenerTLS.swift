/// `listen.<listener>.tls`: the listener speaks TLS (1.2 or later) with this certificate and key,
/// re-read when the files change or on SIGHUP; with `clientCA`, a client must also present a
/// certificate that CA signed (a second factor beside the gateway key). Files only, so a rotated
/// certificate is picked up where it was written.
package struct ListenerTLS: Sendable, Equatable {
    /// PEM: the certificate, then any intermediates.
    package var certificateFile: String
    package var privateKeyFile: String
    package var clientCAFile: String?

    package init(certificateFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
    }
}
