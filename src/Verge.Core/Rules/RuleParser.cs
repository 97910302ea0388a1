namespace Verge.Core.Rules;

/// <summary>
/// Recursive-descent parser of the statement grammar:
/// <code>
/// statement  := SELECT projection (',' projection)* FROM 'filter' [WHERE expr] [GROUP BY group (',' group)*]
/// projection := '*' | expr [AS name]
/// group      := expr | TUMBLING '(' duration ')' | SLIDING '(' duration ',' duration ')'
/// expr       := and (OR and)*            and := not (AND not)*          not := NOT not | comparison
/// comparison := sum [(= | != | &lt;&gt; | &lt; | &lt;= | &gt; | &gt;=) sum | IS [NOT] NULL]
/// sum        := product (('+' | '-') product)*     product := unary (('*' | '/' | '%') unary)*
/// unary      := '-' unary | primary
/// primary    := number | 'string' | TRUE | FALSE | NULL | '(' expr ')' | name '(' [* | expr (',' expr)*] ')' | path
/// path       := name ('.' name | '[' integer ']')*       name := identifier | "quoted name"
/// </code>
/// Keywords are case-insensitive and reserved: quote a field named like one ("from").
/// </summary>
internal sealed class RuleParser
{
    private const int MaxDepth = 64;

    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "AS", "AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE", "TUMBLING", "SLIDING",
    };

    private readonly string _text;
    private readonly List<Token> _tokens;
    private int _index;
    private int _depth;

    private RuleParser(string text)
    {
        _text = text;
        _tokens = RuleLexer.Tokenize(text);
    }

    private Token Current => _tokens[_index];

    public static ParsedStatement Parse(string text) => new RuleParser(text).ParseStatement();

    private ParsedStatement ParseStatement()
    {
        ExpectKeyword("SELECT");
        var projections = new List<RuleProjection> { ParseProjection() };
        while (Accept(TokenKind.Comma))
        {
            projections.Add(ParseProjection());
        }

        ExpectKeyword("FROM");
        var topic = Current;
        if (topic.Kind != TokenKind.String)
        {
            throw Error(topic, "expected a quoted topic filter such as 'devices/+/telemetry'");
        }

        _index++;
        RuleExpression? where = null;
        if (AcceptKeyword("WHERE"))
        {
            where = ParseExpression();
        }

        var groupBy = new List<RuleExpression>();
        RuleWindow? window = null;
        if (AcceptKeyword("GROUP"))
        {
            ExpectKeyword("BY");
            do
            {
                if (window is not null)
                {
                    throw Error(_tokens[_index - 1], "the window must be the last item of GROUP BY");
                }

                if (Current.Is("TUMBLING") || Current.Is("SLIDING"))
                {
                    window = ParseWindow();
                }
                else
                {
                    groupBy.Add(ParseExpression());
                }
            }
            while (Accept(TokenKind.Comma));
        }

        if (Current.Kind != TokenKind.End)
        {
            throw Error(Current, where is null && groupBy.Count == 0 && window is null
                ? "expected WHERE, GROUP BY or end of statement"
                : window is null && groupBy.Count == 0 ? "expected GROUP BY or end of statement" : "expected end of statement");
        }

        return new ParsedStatement(projections, topic, where, groupBy, window);
    }

    private RuleProjection ParseProjection()
    {
        var start = Current;
        if (start.Kind == TokenKind.Star)
        {
            _index++;
            return new RuleProjection(start.Position, null, "*");
        }

        var expression = ParseExpression();
        var end = Current.Position;
        if (AcceptKeyword("AS"))
        {
            var alias = Current;
            if (alias.Kind == TokenKind.QuotedIdentifier || (alias.Kind == TokenKind.Identifier && !Keywords.Contains(alias.Text)))
            {
                _index++;
                return new RuleProjection(start.Position, expression, alias.Text);
            }

            throw Error(alias, "expected a name after AS");
        }

        var name = expression is FieldExpression field && field.LastName is { } last
            ? last
            : _text[(start.Position - 1)..(end - 1)].Trim();
        return new RuleProjection(start.Position, expression, name);
    }

    private RuleWindow ParseWindow()
    {
        var keyword = Current;
        _index++;
        Expect(TokenKind.LeftParen, "expected '(' after " + keyword.Text.ToUpperInvariant());
        var size = ParseDuration();
        var hop = size;
        var sliding = keyword.Is("SLIDING");
        if (sliding)
        {
            Expect(TokenKind.Comma, "expected ',' and the hop of the SLIDING window, as in SLIDING(1m, 10s)");
            hop = ParseDuration();
        }

        Expect(TokenKind.RightParen, "expected ')'");
        return new RuleWindow(keyword.Position, sliding ? RuleWindowKind.Sliding : RuleWindowKind.Tumbling, size, hop);
    }

    private TimeSpan ParseDuration()
    {
        var token = Current;
        if (token.Kind != TokenKind.Duration)
        {
            throw Error(token, "expected a duration such as 500ms, 10s, 1m or 1h");
        }

        _index++;
        if (token.Number < 1 || token.Number != Math.Floor(token.Number))
        {
            throw Error(token, $"duration '{token.Text}' must be a whole number of milliseconds, at least 1ms");
        }

        if (token.Number > TimeSpan.FromDays(1).TotalMilliseconds)
        {
            throw Error(token, $"duration '{token.Text}' is longer than 24h");
        }

        return TimeSpan.FromMilliseconds(token.Number);
    }

    private RuleExpression ParseExpression()
    {
        if (++_depth > MaxDepth)
        {
            throw Error(Current, $"expression nested deeper than {MaxDepth} levels");
        }

        var left = ParseAnd();
        while (Current.Is("OR"))
        {
            var op = Current;
            _index++;
            left = new BinaryExpression(op.Position, BinaryOperator.Or, left, ParseAnd());
        }

        _depth--;
        return left;
    }

    private RuleExpression ParseAnd()
    {
        var left = ParseNot();
        while (Current.Is("AND"))
        {
            var op = Current;
            _index++;
            left = new BinaryExpression(op.Position, BinaryOperator.And, left, ParseNot());
        }

        return left;
    }

    private RuleExpression ParseNot()
    {
        if (Current.Is("NOT"))
        {
            var op = Current;
            _index++;
            Enter();
            var operand = ParseNot();
            _depth--;
            return new UnaryExpression(op.Position, UnaryOperator.Not, operand);
        }

        return ParseComparison();
    }

    private RuleExpression ParseComparison()
    {
        var left = ParseSum();
        var op = Current;
        BinaryOperator? comparison = op.Kind switch
        {
            TokenKind.Equal => BinaryOperator.Equal,
            TokenKind.NotEqual => BinaryOperator.NotEqual,
            TokenKind.Less => BinaryOperator.Less,
            TokenKind.LessOrEqual => BinaryOperator.LessOrEqual,
            TokenKind.Greater => BinaryOperator.Greater,
            TokenKind.GreaterOrEqual => BinaryOperator.GreaterOrEqual,
            _ => null,
        };
        if (comparison is { } value)
        {
            _index++;
            return new BinaryExpression(op.Position, value, left, ParseSum());
        }

        if (op.Is("IS"))
        {
            _index++;
            var negated = AcceptKeyword("NOT");
            if (!Current.Is("NULL"))
            {
                throw Error(Current, negated ? "expected NULL after IS NOT" : "expected NULL or NOT NULL after IS");
            }

            _index++;
            return new IsNullExpression(op.Position, left, negated);
        }

        return left;
    }

    private RuleExpression ParseSum()
    {
        var left = ParseProduct();
        while (Current.Kind is TokenKind.Plus or TokenKind.Minus)
        {
            var op = Current;
            _index++;
            left = new BinaryExpression(op.Position, op.Kind == TokenKind.Plus ? BinaryOperator.Add : BinaryOperator.Subtract, left, ParseProduct());
        }

        return left;
    }

    private RuleExpression ParseProduct()
    {
        var left = ParseUnary();
        while (Current.Kind is TokenKind.Star or TokenKind.Slash or TokenKind.Percent)
        {
            var op = Current;
            _index++;
            var kind = op.Kind switch
            {
                TokenKind.Star => BinaryOperator.Multiply,
                TokenKind.Slash => BinaryOperator.Divide,
                _ => BinaryOperator.Modulo,
            };
            left = new BinaryExpression(op.Position, kind, left, ParseUnary());
        }

        return left;
    }

    private RuleExpression ParseUnary()
    {
        if (Current.Kind == TokenKind.Minus)
        {
            var op = Current;
            _index++;
            Enter();
            var operand = ParseUnary();
            _depth--;
            return operand is LiteralExpression { Value: double d }
                ? new LiteralExpression(op.Position, -d)
                : new UnaryExpression(op.Position, UnaryOperator.Negate, operand);
        }

        return ParsePrimary();
    }

    private RuleExpression ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Number:
                _index++;
                return new LiteralExpression(token.Position, token.Number);
            case TokenKind.String:
                _index++;
                return new LiteralExpression(token.Position, token.Text);
            case TokenKind.Duration:
                throw Error(token, $"a duration such as '{token.Text}' is only allowed in TUMBLING or SLIDING");
            case TokenKind.LeftParen:
                _index++;
                var inner = ParseExpression();
                Expect(TokenKind.RightParen, "expected ')'");
                return inner;
            case TokenKind.QuotedIdentifier:
                return ParsePath();
            case TokenKind.Identifier:
                if (token.Is("TRUE") || token.Is("FALSE"))
                {
                    _index++;
                    return new LiteralExpression(token.Position, token.Is("TRUE"));
                }

                if (token.Is("NULL"))
                {
                    _index++;
                    return new LiteralExpression(token.Position, null);
                }

                if (_tokens[_index + 1].Kind == TokenKind.LeftParen)
                {
                    return ParseCall();
                }

                if (Keywords.Contains(token.Text))
                {
                    throw Error(token, $"expected an expression, found keyword {token.Text.ToUpperInvariant()} (quote a field with this name: \"{token.Text}\")");
                }

                return ParsePath();
            case TokenKind.End:
                throw Error(token, "expected an expression, found end of statement");
            default:
                throw Error(token, $"expected an expression, found {token.Describe()}");
        }
    }

    private CallExpression ParseCall()
    {
        var name = Current;
        _index += 2;
        var lower = name.Text.ToLowerInvariant();
        if (Current.Kind == TokenKind.Star)
        {
            var star = Current;
            _index++;
            if (lower != "count")
            {
                throw Error(star, "'*' is only allowed in count(*)");
            }

            Expect(TokenKind.RightParen, "expected ')' after count(*");
            return new CallExpression(name.Position, lower, [], true);
        }

        var arguments = new List<RuleExpression>();
        if (!Accept(TokenKind.RightParen))
        {
            do
            {
                arguments.Add(ParseExpression());
            }
            while (Accept(TokenKind.Comma));
            Expect(TokenKind.RightParen, "expected ',' or ')' in the arguments of " + lower + "()");
        }

        return new CallExpression(name.Position, lower, arguments, false);
    }

    private FieldExpression ParsePath()
    {
        var first = Current;
        _index++;
        var path = new List<PathSegment> { new(first.Text, 0) };
        while (true)
        {
            if (Accept(TokenKind.Dot))
            {
                var name = Current;
                if (name.Kind == TokenKind.QuotedIdentifier || name.Kind == TokenKind.Identifier)
                {
                    _index++;
                    path.Add(new PathSegment(name.Text, 0));
                    continue;
                }

                throw Error(name, "expected a field name after '.'");
            }

            if (Current.Kind == TokenKind.LeftBracket)
            {
                _index++;
                var index = Current;
                if (index.Kind != TokenKind.Number || index.Number != Math.Floor(index.Number) || index.Number > int.MaxValue)
                {
                    throw Error(index, "expected an array index (a whole number from 0)");
                }

                _index++;
                Expect(TokenKind.RightBracket, "expected ']'");
                path.Add(new PathSegment(null, (int)index.Number));
                continue;
            }

            return new FieldExpression(first.Position, path);
        }
    }

    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            throw Error(Current, $"expression nested deeper than {MaxDepth} levels");
        }
    }

    private bool Accept(TokenKind kind)
    {
        if (Current.Kind != kind)
        {
            return false;
        }

        _index++;
        return true;
    }

    private bool AcceptKeyword(string keyword)
    {
        if (!Current.Is(keyword))
        {
            return false;
        }

        _index++;
        return true;
    }

    private void Expect(TokenKind kind, string reason)
    {
        if (!Accept(kind))
        {
            throw Error(Current, reason);
        }
    }

    private void ExpectKeyword(string keyword)
    {
        if (!AcceptKeyword(keyword))
        {
            throw Error(Current, "expected " + keyword);
        }
    }

    private static RuleSyntaxException Error(Token token, string reason) => new(token.Position, reason);
}

internal sealed record ParsedStatement(
    List<RuleProjection> Projections, Token Topic, RuleExpression? Where, List<RuleExpression> GroupBy, RuleWindow? Window);
