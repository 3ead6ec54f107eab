extension FilterExpression {
    /// Parses the short infix form: `lang = de AND (site IN (a.org, b.org) OR NOT host != x)`,
    /// `metadata.year >= 2020`, `ingested < 2024-05-01`. Keywords are case-insensitive, AND binds
    /// tighter than OR; empty text is `.all`.
    public init(infix: String) throws {
        var parser = try InfixParser(text: infix)
        guard !parser.atEnd else {
            self = .all
            return
        }
        self = try parser.expression(depth: 1)
        guard parser.atEnd else { throw parser.error("expected AND, OR or the end, got \(parser.current)") }
    }
}

/// One token of the infix form, at its 1-based column.
private struct InfixToken {
    enum Kind: Equatable {
        case word(String), quoted(String), symbol(String)
    }
    var kind: Kind
    var column: Int
}

/// The recursive descent over infix tokens.
private struct InfixParser {
    private var tokens: [InfixToken] = []
    private var position = 0
    private var conditionCount = 0
    private let endColumn: Int

    init(text: String) throws {
        let characters = Array(text)
        endColumn = characters.count + 1
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let column = index + 1
            if character.isWhitespace {
                index += 1
            } else if character == "'" || character == "\"" {
                guard let close = characters[(index + 1)...].firstIndex(of: character) else {
                    throw FilterError("at \(column): the quote \(character) is not closed")
                }
                tokens.append(InfixToken(kind: .quoted(String(characters[(index + 1)..<close])), column: column))
                index = close + 1
            } else if "(),=".contains(character) {
                tokens.append(InfixToken(kind: .symbol(String(character)), column: column))
                index += 1
            } else if "<>!".contains(character) {
                let twoCharacter = index + 1 < characters.count && characters[index + 1] == "="
                guard character != "!" || twoCharacter else { throw FilterError("at \(column): expected \"!=\"") }
                tokens.append(
                    InfixToken(kind: .symbol(twoCharacter ? "\(character)=" : String(character)), column: column))
                index += twoCharacter ? 2 : 1
            } else if Self.isWordCharacter(character) {
                var end = index
                while end < characters.count && Self.isWordCharacter(characters[end]) { end += 1 }
                tokens.append(InfixToken(kind: .word(String(characters[index..<end])), column: column))
                index = end
            } else {
                throw FilterError("at \(column): unexpected character \(character)")
            }
        }
    }

    static func isWordCharacter(_ character: Character) -> Bool {
        guard character.isASCII else { return false }
        return character.isLetter || character.isNumber || "._:/@+-".contains(character)
    }

    var atEnd: Bool { position == tokens.count }

    /// The next token as an error message names it.
    var current: String {
        guard position < tokens.count else { return "the end" }
        switch tokens[position].kind {
        case .word(let word): return word
        case .quoted(let text): return "'\(text)'"
        case .symbol(let symbol): return "\"\(symbol)\""
        }
    }

    func error(_ message: String) -> FilterError {
        FilterError("at \(position < tokens.count ? tokens[position].column : endColumn): \(message)")
    }

    /// Consumes the next token if it is the keyword (any case).
    mutating func keyword(_ name: String) -> Bool {
        guard position < tokens.count, case .word(let word) = tokens[position].kind,
            word.uppercased() == name
        else { return false }
        position += 1
        return true
    }

    /// Consumes the next token if it is the symbol.
    mutating func symbol(_ name: String) -> Bool {
        guard position < tokens.count, tokens[position].kind == .symbol(name) else { return false }
        position += 1
        return true
    }

    mutating func expression(depth: Int) throws -> FilterExpression {
        var parts = [try conjunction(depth: depth)]
        while keyword("OR") { parts.append(try conjunction(depth: depth)) }
        return .disjunction(parts)
    }

    mutating func conjunction(depth: Int) throws -> FilterExpression {
        var parts = [try unary(depth: depth)]
        while keyword("AND") { parts.append(try unary(depth: depth)) }
        return .conjunction(parts)
    }

    mutating func unary(depth: Int) throws -> FilterExpression {
        guard depth <= FilterLimits.maximumDepth else {
            throw error("NOTs and parentheses nest deeper than \(FilterLimits.maximumDepth)")
        }
        if keyword("NOT") { return .not(try unary(depth: depth + 1)) }
        if symbol("(") {
            let inner = try expression(depth: depth + 1)
            guard symbol(")") else { throw error("expected \")\", got \(current)") }
            return inner
        }
        return try condition()
    }

    mutating func condition() throws -> FilterExpression {
        guard position < tokens.count, case .word(let field) = tokens[position].kind,
            !["AND", "OR", "NOT", "IN"].contains(field.uppercased())
        else { throw error("expected a field, got \(current)") }
        guard field.utf8.count <= FilterLimits.maximumKeyBytes else {
            throw error("the field name is longer than \(FilterLimits.maximumKeyBytes) bytes")
        }
        position += 1
        conditionCount += 1
        guard conditionCount <= FilterLimits.maximumConditions else {
            throw error("more than \(FilterLimits.maximumConditions) conditions")
        }
        let negated = keyword("NOT")
        if keyword("IN") {
            guard symbol("(") else { throw error("expected \"(\" after IN, got \(current)") }
            var values = [try value(after: "(")]
            while symbol(",") {
                values.append(try value(after: ","))
                guard values.count <= FilterLimits.maximumValues else {
                    throw error("more than \(FilterLimits.maximumValues) values")
                }
            }
            guard symbol(")") else { throw error("expected \",\" or \")\", got \(current)") }
            let match = FilterExpression.match(field: field, values: values)
            return negated ? .not(match) : match
        }
        if negated { throw error("expected IN after NOT, got \(current)") }
        guard position < tokens.count, case .symbol(let op) = tokens[position].kind,
            ["=", "!=", "<", "<=", ">", ">="].contains(op)
        else { throw error("expected an operator (=, !=, <, <=, >, >=, IN) after \(field), got \(current)") }
        position += 1
        let valuePosition = position
        let operand = try value(after: op)
        switch op {
        case "=": return .match(field: field, values: [operand])
        case "!=": return .not(.match(field: field, values: [operand]))
        default:
            guard case .bool = operand else {
                let inclusive = op.hasSuffix("=")
                let range =
                    op.hasPrefix(">")
                    ? FilterRange(lower: operand, lowerInclusive: inclusive)
                    : FilterRange(upper: operand, upperInclusive: inclusive)
                return .range(field: field, range)
            }
            position = valuePosition
            throw error("\"\(op)\" needs a number or a date, got a bool")
        }
    }

    /// A value: a number, true or false, a quoted string or a bare word other than AND and OR.
    mutating func value(after previous: String) throws -> FilterLiteral {
        guard position < tokens.count else { throw error("expected a value after \"\(previous)\"") }
        switch tokens[position].kind {
        case .symbol: throw error("expected a value after \"\(previous)\", got \(current)")
        case .quoted(let text):
            position += 1
            return .string(text)
        case .word(let word):
            guard !["AND", "OR"].contains(word.uppercased()) else {
                throw error("expected a value after \"\(previous)\", got \(word)")
            }
            position += 1
            switch word.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return Self.isNumeral(word) ? .number(Double(word)!) : .string(word)
            }
        }
    }

    /// Whether a word is a decimal numeral (`12`, `-3.5`, `1e6`), not `inf`, `nan` or a hex form.
    static func isNumeral(_ word: String) -> Bool {
        guard let number = Double(word), number.isFinite else { return false }
        return word.allSatisfy { $0.isNumber || "+-.eE".contains($0) } && word.contains(where: \.isNumber)
    }
}
