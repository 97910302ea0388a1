namespace Verge.ApiServer.Registry;

/// <summary>The field manager a request is recorded under when it names none, derived from its User-Agent as Kubernetes does.</summary>
internal static class ManagerNames
{
    public static string FromUserAgent(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent))
        {
            return "unknown";
        }

        var name = userAgent.Split('/', 2)[0];
        return name.Length > 128 ? name[..128] : name;
    }
}
