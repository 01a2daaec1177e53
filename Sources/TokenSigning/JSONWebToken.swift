import SnapfleetCore

/// A JSON value of a JWT header or claim set: these hold only strings and integers.
public enum JWTValue: Sendable, Equatable {
    /// A string.
    case string(String)
    /// An integer (times are seconds since 1970).
    case integer(Int)
}

/// How a token's JSON separates members: the libraries whose tokens are compared differ here.
public enum JWTSpelling: Sendable {
    /// `", "` and `": "`, Python's `json.dumps` defaults (google-auth).
    case pythonDumps
    /// `","` and `":"`, PyJWT's separators (MSAL's client assertions).
    case compact
}

/// Compact JWS tokens signed with RS256 (RFC 7515/7519): `base64url(header).base64url(claims).base64url(signature)`.
///
/// Members keep the order given, and the JSON is spelled as Python's `json.dumps` spells it
/// (`", "` and `": "` between members, or `","` and `":"` for `.compact`; non-ASCII as `\u` escapes),
/// so a token can be compared byte for byte with the ones Google's and Microsoft's own libraries
/// make for the same input.
public enum JSONWebToken {
    /// The signed token.
    public static func rs256(
        header: [(String, JWTValue)], claims: [(String, JWTValue)], key: RSAPrivateKey, spelling: JWTSpelling = .pythonDumps
    ) throws(SnapfleetError) -> String {
        let signingInput =
            Base64URL.encode(json(header, spelling: spelling).utf8) + "." + Base64URL.encode(json(claims, spelling: spelling).utf8)
        let signature = try key.signSHA256(Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// One JSON object, members in order.
    static func json(_ members: [(String, JWTValue)], spelling: JWTSpelling = .pythonDumps) -> String {
        let body = members.map { name, value in
            let text: String
            switch value {
            case .string(let string): text = quoted(string)
            case .integer(let number): text = String(number)
            }
            return quoted(name) + (spelling == .compact ? ":" : ": ") + text
        }
        return "{" + body.joined(separator: spelling == .compact ? "," : ", ") + "}"
    }

    /// A JSON string literal with Python's `ensure_ascii` escaping.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5c: out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0c: out += "\\f"
            case 0x20..<0x7f: out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }
}
