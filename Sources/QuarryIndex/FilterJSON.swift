import QuarryBase

extension FilterExpression {
    /// Parses Qdrant's filter shape: `{"must": [...], "should": [...], "must_not": [...]}` of
    /// conditions `{"key": K, "match": {"value" | "any" | "except": ...}}`,
    /// `{"key": K, "range": {"gt" | "gte" | "lt" | "lte": V}}` or nested filters.
    public init(json: JSONValue) throws {
        var parser = FilterJSONParser()
        self = try parser.filter(json, path: "filter", depth: 1)
    }
}

/// The recursive descent over a JSON filter, counting conditions against the limits.
private struct FilterJSONParser {
    var conditionCount = 0

    mutating func filter(_ value: JSONValue, path: String, depth: Int) throws -> FilterExpression {
        guard depth <= FilterLimits.maximumDepth else {
            throw FilterError("\(path): filters nest deeper than \(FilterLimits.maximumDepth)")
        }
        let object = try objectValue(value, path: path, what: "a filter")
        if let key = object.keys.sorted().first(where: { !["must", "should", "must_not"].contains($0) }) {
            throw FilterError("\(path): unknown key \"\(key)\" (a filter has \"must\", \"should\", \"must_not\")")
        }
        var parts: [FilterExpression] = []
        if let must = object["must"] {
            parts += try conditions(must, path: path + ".must", depth: depth)
        }
        if let should = object["should"] {
            let alternatives = try conditions(should, path: path + ".should", depth: depth)
            if !alternatives.isEmpty { parts.append(.disjunction(alternatives)) }
        }
        if let mustNot = object["must_not"] {
            parts += try conditions(mustNot, path: path + ".must_not", depth: depth).map { .not($0) }
        }
        return .conjunction(parts)
    }

    mutating func conditions(_ value: JSONValue, path: String, depth: Int) throws -> [FilterExpression] {
        guard case .array(let items) = value else {
            throw FilterError("\(path): must be an array of conditions, got \(describe(value))")
        }
        return try items.enumerated().map { index, item in
            try condition(item, path: "\(path)[\(index)]", depth: depth)
        }
    }

    mutating func condition(_ value: JSONValue, path: String, depth: Int) throws -> FilterExpression {
        let object = try objectValue(value, path: path, what: "a condition")
        guard let keyValue = object["key"] else { return try filter(value, path: path, depth: depth + 1) }
        if let key = object.keys.sorted().first(where: { !["key", "match", "range"].contains($0) }) {
            throw FilterError("\(path): unknown key \"\(key)\" (a condition has \"key\" and \"match\" or \"range\")")
        }
        guard case .string(let field) = keyValue, !field.isEmpty else {
            throw FilterError("\(path).key: must be a field name, got \(describe(keyValue))")
        }
        guard field.utf8.count <= FilterLimits.maximumKeyBytes else {
            throw FilterError("\(path).key: longer than \(FilterLimits.maximumKeyBytes) bytes")
        }
        conditionCount += 1
        guard conditionCount <= FilterLimits.maximumConditions else {
            throw FilterError("\(path): more than \(FilterLimits.maximumConditions) conditions")
        }
        switch (object["match"], object["range"]) {
        case (let match?, nil): return try self.match(match, field: field, path: path + ".match")
        case (nil, let range?): return try self.range(range, field: field, path: path + ".range")
        case (nil, nil): throw FilterError("\(path): a condition needs \"match\" or \"range\"")
        case (_?, _?): throw FilterError("\(path): a condition has \"match\" or \"range\", not both")
        }
    }

    func match(_ value: JSONValue, field: String, path: String) throws -> FilterExpression {
        let object = try objectValue(value, path: path, what: "a match")
        guard object.count == 1, let (key, operand) = object.first else {
            throw FilterError("\(path): must have exactly one of \"value\", \"any\", \"except\"")
        }
        switch key {
        case "value": return .match(field: field, values: [try literal(operand, path: "\(path).value")])
        case "any", "except":
            guard case .array(let items) = operand else {
                throw FilterError("\(path).\(key): must be an array of values, got \(describe(operand))")
            }
            guard !items.isEmpty else { throw FilterError("\(path).\(key): must not be empty") }
            guard items.count <= FilterLimits.maximumValues else {
                throw FilterError("\(path).\(key): more than \(FilterLimits.maximumValues) values")
            }
            let values = try items.enumerated().map { try literal($1, path: "\(path).\(key)[\($0)]") }
            let condition = FilterExpression.match(field: field, values: values)
            return key == "any" ? condition : .not(condition)
        default:
            throw FilterError("\(path): unknown key \"\(key)\" (a match has \"value\", \"any\" or \"except\")")
        }
    }

    func range(_ value: JSONValue, field: String, path: String) throws -> FilterExpression {
        let object = try objectValue(value, path: path, what: "a range")
        if let key = object.keys.sorted().first(where: { !["gt", "gte", "lt", "lte"].contains($0) }) {
            throw FilterError("\(path): unknown key \"\(key)\" (a range has \"gt\", \"gte\", \"lt\", \"lte\")")
        }
        guard !object.isEmpty else { throw FilterError("\(path): needs \"gt\", \"gte\", \"lt\" or \"lte\"") }
        guard object["gt"] == nil || object["gte"] == nil else {
            throw FilterError("\(path): has \"gt\" or \"gte\", not both")
        }
        guard object["lt"] == nil || object["lte"] == nil else {
            throw FilterError("\(path): has \"lt\" or \"lte\", not both")
        }
        var bounds = FilterRange()
        for key in object.keys.sorted() {
            let operand = object[key]!
            let bound: FilterLiteral
            switch operand {
            case .number(let number) where number.isFinite: bound = .number(number)
            case .string(let text) where parseISO8601Date(text) != nil: bound = .string(text)
            default: throw FilterError("\(path): \"\(key)\" must be a number or a date, got \(describe(operand))")
            }
            if key.hasPrefix("g") {
                bounds.lower = bound
                bounds.lowerInclusive = key == "gte"
            } else {
                bounds.upper = bound
                bounds.upperInclusive = key == "lte"
            }
        }
        return .range(field: field, bounds)
    }

    func literal(_ value: JSONValue, path: String) throws -> FilterLiteral {
        switch value {
        case .string(let text): return .string(text)
        case .number(let number) where number.isFinite: return .number(number)
        case .bool(let flag): return .bool(flag)
        default: throw FilterError("\(path): must be a string, a number or a bool, got \(describe(value))")
        }
    }

    func objectValue(_ value: JSONValue, path: String, what: String) throws -> [String: JSONValue] {
        guard case .object(let object) = value else {
            throw FilterError("\(path): must be \(what) object, got \(describe(value))")
        }
        return object
    }

    /// A value in an error message: a short quote of a string, a number, else its kind.
    func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number): return "the number \(AttributeValues.keywordText(number))"
        case .string(let text): return "the string \"\(text.count > 40 ? text.prefix(40) + "..." : text)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
