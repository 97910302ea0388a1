using System.Globalization;

namespace Verge.Core.Rules;

internal enum TokenKind
{
    End,
    Identifier,
    QuotedIdentifier,
    String,
    Number,
    Duration,
    Star,
    Comma,
    Dot,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Plus,
    Minus,
    Slash,
    Percent,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// <summary>One token: its kind, 1-based column, text (unescaped for strings and quoted names) and numeric value.</summary>
internal readonly record struct Token(TokenKind Kind, int Position, string Text, double Number = 0)
{
    /// <summary>Whether this is the bare keyword <paramref name="keyword"/> (case-insensitive).</summary>
    public bool Is(string keyword) => Kind == TokenKind.Identifier && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);

    /// <summary>How the token reads in an error message.</summary>
    public string Describe() => Kind switch
    {
        TokenKind.End => "end of statement",
        TokenKind.String => $"'{Text}'",
        TokenKind.QuotedIdentifier => $"\"{Text}\"",
        _ => $"'{Text}'",
    };
}

/// <summary>Splits a statement into tokens. Durations are a number with a unit and no space: 500ms, 10s, 1m, 2h.</summary>
internal static class RuleLexer
{
    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                tokens.Add(new Token(TokenKind.End, i + 1, ""));
                return tokens;
            }

            var start = i;
            var c = text[i];
            if (char.IsAsciiLetter(c) || c == '_')
            {
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, start + 1, text[start..i]));
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                tokens.Add(ReadNumber(text, ref i));
                continue;
            }

            if (c is '\'' or '"')
            {
                tokens.Add(ReadQuoted(text, ref i, c));
                continue;
            }

            i++;
            var next = i < text.Length ? text[i] : '\0';
            TokenKind kind;
            switch (c)
            {
                case '*': kind = TokenKind.Star; break;
                case ',': kind = TokenKind.Comma; break;
                case '.': kind = TokenKind.Dot; break;
                case '(': kind = TokenKind.LeftParen; break;
                case ')': kind = TokenKind.RightParen; break;
                case '[': kind = TokenKind.LeftBracket; break;
                case ']': kind = TokenKind.RightBracket; break;
                case '+': kind = TokenKind.Plus; break;
                case '-': kind = TokenKind.Minus; break;
                case '/': kind = TokenKind.Slash; break;
                case '%': kind = TokenKind.Percent; break;
                case '=': kind = TokenKind.Equal; break;
                case '!' when next == '=': kind = TokenKind.NotEqual; i++; break;
                case '<' when next == '=': kind = TokenKind.LessOrEqual; i++; break;
                case '<' when next == '>': kind = TokenKind.NotEqual; i++; break;
                case '<': kind = TokenKind.Less; break;
                case '>' when next == '=': kind = TokenKind.GreaterOrEqual; i++; break;
                case '>': kind = TokenKind.Greater; break;
                default:
                    throw new RuleSyntaxException(start + 1, char.IsControl(c)
                        ? $"unexpected character U+{(int)c:X4}"
                        : $"unexpected character '{c}'");
            }

            tokens.Add(new Token(kind, start + 1, text[start..i]));
        }
    }

    private static Token ReadNumber(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }

        if (i + 1 < text.Length && text[i] == '.' && char.IsAsciiDigit(text[i + 1]))
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
        }

        if (i < text.Length && text[i] is 'e' or 'E')
        {
            var e = i + 1;
            if (e < text.Length && text[e] is '+' or '-')
            {
                e++;
            }

            if (e < text.Length && char.IsAsciiDigit(text[e]))
            {
                i = e;
                while (i < text.Length && char.IsAsciiDigit(text[i]))
                {
                    i++;
                }
            }
        }

        var number = double.Parse(text.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture);
        if (i < text.Length && char.IsAsciiLetter(text[i]))
        {
            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetterOrDigit(text[i]))
            {
                i++;
            }

            var unit = text[unitStart..i];
            double? factor = unit switch
            {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => null,
            };
            if (factor is null)
            {
                throw new RuleSyntaxException(start + 1, $"invalid number or duration '{text[start..i]}' (duration units are ms, s, m and h)");
            }

            return new Token(TokenKind.Duration, start + 1, text[start..i], number * factor.Value);
        }

        if (double.IsInfinity(number))
        {
            throw new RuleSyntaxException(start + 1, $"number '{text[start..i]}' is out of range");
        }

        return new Token(TokenKind.Number, start + 1, text[start..i], number);
    }

    private static Token ReadQuoted(string text, ref int i, char quote)
    {
        var start = i;
        i++;
        var builder = new System.Text.StringBuilder();
        while (true)
        {
            if (i >= text.Length)
            {
                throw new RuleSyntaxException(start + 1, quote == '\'' ? "unterminated string" : "unterminated quoted name");
            }

            if (text[i] == quote)
            {
                if (i + 1 < text.Length && text[i + 1] == quote)
                {
                    builder.Append(quote);
                    i += 2;
                    continue;
                }

                i++;
                break;
            }

            builder.Append(text[i]);
            i++;
        }

        if (quote == '"' && builder.Length == 0)
        {
            throw new RuleSyntaxException(start + 1, "empty quoted name");
        }

        return new Token(quote == '\'' ? TokenKind.String : TokenKind.QuotedIdentifier, start + 1, builder.ToString());
    }
}
