namespace Verge.Core.Patching;

/// <summary>A JSON pointer (RFC 6901): <c>/spec/containers/0/image</c>, with <c>~1</c> for '/' and <c>~0</c> for '~'.</summary>
internal static class JsonPointer
{
    /// <summary>Splits a pointer into unescaped reference tokens; the empty pointer is the whole document.</summary>
    public static bool TryParse(string pointer, out string[] tokens)
    {
        tokens = [];
        if (pointer.Length == 0)
        {
            return true;
        }

        if (pointer[0] != '/')
        {
            return false;
        }

        var parts = pointer[1..].Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            if (!TryUnescape(parts[i], out var token))
            {
                return false;
            }

            parts[i] = token;
        }

        tokens = parts;
        return true;
    }

    public static string Escape(string token) =>
        token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static bool TryUnescape(string part, out string token)
    {
        if (!part.Contains('~', StringComparison.Ordinal))
        {
            token = part;
            return true;
        }

        var builder = new System.Text.StringBuilder(part.Length);
        for (var i = 0; i < part.Length; i++)
        {
            if (part[i] != '~')
            {
                builder.Append(part[i]);
                continue;
            }

            if (i + 1 >= part.Length || (part[i + 1] != '0' && part[i + 1] != '1'))
            {
                token = "";
                return false;
            }

            builder.Append(part[i + 1] == '0' ? '~' : '/');
            i++;
        }

        token = builder.ToString();
        return true;
    }
}
