namespace Verge.Core.Selectors;

/// <summary>
/// The recursive-descent parser of label selector strings, following Kubernetes' lexer: identifiers run until
/// whitespace or one of <c>! = , ( ) &lt; &gt;</c>; <c>in</c> and <c>notin</c> are keywords.
/// </summary>
internal sealed class SelectorParser(string text)
{
    private readonly List<(Token Kind, string Text)> _tokens = Lex(text);
    private int _position;

    private enum Token
    {
        Identifier,
        In,
        NotIn,
        Equals,
        DoubleEquals,
        NotEquals,
        GreaterThan,
        LessThan,
        Comma,
        OpenParen,
        CloseParen,
        Bang,
        End,
    }

    public List<LabelRequirement> ParseAll()
    {
        var requirements = new List<LabelRequirement>();
        while (true)
        {
            var (kind, literal) = Peek();
            switch (kind)
            {
                case Token.Identifier or Token.Bang:
                    requirements.Add(ParseRequirement());
                    var (next, nextLiteral) = Consume();
                    switch (next)
                    {
                        case Token.End:
                            return requirements;
                        case Token.Comma:
                            var (after, afterLiteral) = Peek();
                            if (after is not (Token.Identifier or Token.Bang))
                            {
                                throw Error($"found '{afterLiteral}', expected: identifier after ','");
                            }

                            break;
                        default:
                            throw Error($"found '{nextLiteral}', expected: ',' or 'end of string'");
                    }

                    break;
                case Token.End:
                    return requirements;
                default:
                    throw Error($"found '{literal}', expected: !, identifier, or 'end of string'");
            }
        }
    }

    private LabelRequirement ParseRequirement()
    {
        var (kind, literal) = Consume();
        if (kind == Token.Bang)
        {
            var (keyKind, key) = Consume();
            if (keyKind != Token.Identifier)
            {
                throw Error($"found '{key}', expected: identifier after '!'");
            }

            return Build(key, SelectorOperator.DoesNotExist, []);
        }

        if (kind != Token.Identifier)
        {
            throw Error($"found '{literal}', expected: identifier");
        }

        var (opKind, opLiteral) = Peek();
        if (opKind is Token.End or Token.Comma)
        {
            return Build(literal, SelectorOperator.Exists, []);
        }

        Consume();
        var op = opKind switch
        {
            Token.Equals => SelectorOperator.Equals,
            Token.DoubleEquals => SelectorOperator.DoubleEquals,
            Token.NotEquals => SelectorOperator.NotEquals,
            Token.In => SelectorOperator.In,
            Token.NotIn => SelectorOperator.NotIn,
            Token.GreaterThan => SelectorOperator.GreaterThan,
            Token.LessThan => SelectorOperator.LessThan,
            _ => throw Error($"found '{opLiteral}', expected: '=', '!=', '==', 'in', 'notin', '>' or '<'"),
        };

        var values = op is SelectorOperator.In or SelectorOperator.NotIn ? ParseValueSet() : [ParseExactValue()];
        return Build(literal, op, values);
    }

    private string ParseExactValue()
    {
        var (kind, literal) = Peek();
        if (kind is Token.End or Token.Comma)
        {
            return "";
        }

        Consume();
        if (kind == Token.Identifier)
        {
            return literal;
        }

        throw Error($"found '{literal}', expected: identifier");
    }

    private List<string> ParseValueSet()
    {
        var (open, openLiteral) = Consume();
        if (open != Token.OpenParen)
        {
            throw Error($"found '{openLiteral}', expected: '('");
        }

        var values = new List<string>();
        var (kind, literal) = Peek();
        if (kind == Token.CloseParen)
        {
            Consume();
            return [""];
        }

        if (kind is not (Token.Identifier or Token.Comma))
        {
            throw Error($"found '{literal}', expected: ',', ')' or identifier");
        }

        // identifier (',' identifier)*, where an empty slot between commas is the empty value.
        var expectValue = true;
        while (true)
        {
            (kind, literal) = Consume();
            switch (kind)
            {
                case Token.Identifier when expectValue:
                    values.Add(literal);
                    expectValue = false;
                    break;
                case Token.Comma:
                    if (expectValue)
                    {
                        values.Add("");
                    }

                    expectValue = true;
                    break;
                case Token.CloseParen:
                    if (expectValue)
                    {
                        values.Add("");
                    }

                    return [.. values.Distinct(StringComparer.Ordinal)];
                default:
                    throw Error($"found '{literal}', expected: ',' or ')'");
            }
        }
    }

    private static LabelRequirement Build(string key, SelectorOperator op, IReadOnlyList<string> values)
    {
        try
        {
            return LabelSelectorExpression.NewRequirement(key, op, values);
        }
        catch (FormatException e)
        {
            throw new FormatException($"unable to parse requirement: {e.Message}", e);
        }
    }

    private static FormatException Error(string message) => new($"unable to parse requirement: {message}");

    private (Token Kind, string Text) Peek() => _tokens[Math.Min(_position, _tokens.Count - 1)];

    private (Token Kind, string Text) Consume()
    {
        var token = Peek();
        _position++;
        return token;
    }

    private static List<(Token, string)> Lex(string text)
    {
        var tokens = new List<(Token, string)>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            switch (c)
            {
                case '=':
                    if (i + 1 < text.Length && text[i + 1] == '=')
                    {
                        tokens.Add((Token.DoubleEquals, "=="));
                        i += 2;
                    }
                    else
                    {
                        tokens.Add((Token.Equals, "="));
                        i++;
                    }

                    continue;
                case '!':
                    if (i + 1 < text.Length && text[i + 1] == '=')
                    {
                        tokens.Add((Token.NotEquals, "!="));
                        i += 2;
                    }
                    else
                    {
                        tokens.Add((Token.Bang, "!"));
                        i++;
                    }

                    continue;
                case ',':
                    tokens.Add((Token.Comma, ","));
                    i++;
                    continue;
                case '(':
                    tokens.Add((Token.OpenParen, "("));
                    i++;
                    continue;
                case ')':
                    tokens.Add((Token.CloseParen, ")"));
                    i++;
                    continue;
                case '>':
                    tokens.Add((Token.GreaterThan, ">"));
                    i++;
                    continue;
                case '<':
                    tokens.Add((Token.LessThan, "<"));
                    i++;
                    continue;
                default:
                    break;
            }

            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && "!=,()<>".IndexOf(text[i], StringComparison.Ordinal) < 0)
            {
                i++;
            }

            var word = text[start..i];
            tokens.Add(word switch
            {
                "in" => (Token.In, word),
                "notin" => (Token.NotIn, word),
                _ => (Token.Identifier, word),
            });
        }

        tokens.Add((Token.End, "end of string"));
        return tokens;
    }
}
