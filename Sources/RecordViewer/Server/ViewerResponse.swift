import RFB

/// An HTTP answer of the viewer, made without I/O so that the routes are tested directly.
public struct ViewerResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, contentType: String, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    static func json(_ text: String, status: Int = 200) -> ViewerResponse {
        ViewerResponse(status: status, contentType: "application/json", body: Array(text.utf8))
    }

    /// `{"error": "..."}` with the status.
    static func error(_ status: Int, _ message: String) -> ViewerResponse {
        json("{\"error\":" + RFBJSONObject.quoted(message) + "}", status: status)
    }
}
