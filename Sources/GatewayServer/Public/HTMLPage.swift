/// The small HTML pages the install flow shows the installing admin. Every value is escaped.
struct HTMLPage {
    var title: String
    var lines: [String]

    var html: String {
        let body = lines.map { "<p>\(Self.escape($0))</p>" }.joined(separator: "\n")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title></head>
            <body><h1>\(Self.escape(title))</h1>
            \(body)
            </body></html>
            """
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
