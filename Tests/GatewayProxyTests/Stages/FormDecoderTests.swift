import Testing

@testable import GatewayProxy

@Suite("Stage: form decoding as qs and querystring read it")
struct FormDecoderTests {
    private func values(_ text: String) throws(FormDecoder.Failure) -> [String: [String]] {
        try FormDecoder.values(text.utf8, names: ["locationId"])
    }

    @Test func namesAreReadWithQsBrackets() throws {
        #expect(try values("locationId=a") == ["locationId": ["a"]])
        #expect(try values("locationId[]=a&locationId[1]=b") == ["locationId": ["a", "b"]])
        #expect(try values("[locationId]=a") == ["locationId": ["a"]])
        #expect(try values("%5BlocationId%5D=a") == ["locationId": ["a"]])
        #expect(try values("locationId[x]=a") == ["locationId": ["a"]])
        // qs splits at `]=` so a bracket may hold `=`.
        #expect(try values("locationId[a=b]=c") == ["locationId": ["c"]])
        #expect(try values("locationId") == ["locationId": [""]])
        // Not the parameter: qs's root is the text before a complete bracket group.
        #expect(try values("locationId[[x]]=a").isEmpty)
        #expect(try values("locationIdX=a&xlocationId=b&location+Id=c").isEmpty)
    }

    @Test func valuesAreDecodedAsDecodeURIComponentDoes() throws {
        #expect(try values("locationId=a+b%20c%C3%A9") == ["locationId": ["a b cé"]])
        #expect(FormDecoder.strictDecode("%zz%41".utf8) == "%zz%41")
        #expect(FormDecoder.lenientDecode("%zz%41".utf8) == "%zzA")
        #expect(FormDecoder.strictDecode("%FF".utf8) == "%FF")
    }

    @Test func aValueTheTwoParsersReadDifferentlyIsAmbiguous() throws {
        #expect(throws: FormDecoder.Failure.ambiguous(name: "locationId")) { try values("locationId=a%41%") }
        #expect(throws: FormDecoder.Failure.ambiguous(name: "locationId")) { try values("locationId=%FF") }
        // A broken escape the two read alike is not.
        #expect(try values("locationId=a%") == ["locationId": ["a%"]])
    }

    @Test func rawBytesThatAreNotUTF8AreReplacedBeforeEscapesAreDecoded() throws {
        // Found by the form-decoder fuzzer: JavaScript holds the text as a string (U+FFFD for the
        // byte) before decodeURIComponent, which then succeeds: the name is `locationId[l[\u{FFFD}x]`,
        // whose root is `locationId[l`, not the target.
        let name = Array("locationId[l%5B".utf8) + [0xFF] + Array("x]=a".utf8)
        #expect(try FormDecoder.values(name, names: ["locationId"]).isEmpty)
        #expect(FormDecoder.strictDecode(Array("%41".utf8) + [0xFF]) == "A\u{FFFD}")
    }

    @Test func aNameEitherParserReadsAsTheTargetCounts() throws {
        // qs leaves the whole name as written; querystring decodes the valid escape.
        #expect(try values("loc%61tionId%=a").isEmpty)
        #expect(try values("%6CocationId[%]=a") == ["locationId": ["a"]])
    }
}

@Suite("Stage: media types")
struct MediaTypeTests {
    @Test func typesAndParametersAreReadStrictly() throws {
        let json = try #require(MediaType(#"Application/Vnd.API+JSON ; Charset="utf-8""#))
        #expect(json.isJSON)
        #expect(json.parameters["charset"] == "utf-8")
        #expect(try #require(MediaType("application/x-www-form-urlencoded")).isForm)
        #expect(try #require(MediaType(#"multipart/form-data; boundary="a b\"c""#)).parameters["boundary"] == #"a b"c"#)
        #expect(MediaType("text/plain").map { $0.isJSON || $0.isForm || $0.isMultipart } == false)
        // A quoted-pair never escapes a control byte (found by fuzzing).
        for bad in [
            "application/json garbage", "application", "/json", "application/json; charset", "a/b; x=1; x=2", #"a/b; x="open"#, "a/b; x=\"\\\u{02}\"",
        ] {
            #expect(MediaType(bad) == nil, "\(bad)")
        }
    }
}
