using System.Text;
using System.Text.Json;
using Verge.Agent.Images;
using Verge.Core.Core;

namespace Verge.Agent.Pods;

/// <summary>
/// Registry credentials for an image from the pod's imagePullSecrets, as kubelet reads them: Secrets of type
/// kubernetes.io/dockerconfigjson (".dockerconfigjson") or kubernetes.io/dockercfg (".dockercfg"), whose entry for
/// the image's registry gives a username and password, or an "auth" of base64 "user:password".
/// </summary>
internal static class PullCredentials
{
    public static RegistryCredentials? For(Pod pod, string image, IPodConfigSource source)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(source);
        var registry = RegistryOf(image);
        foreach (var reference in pod.Spec.ImagePullSecrets ?? [])
        {
            var secret = source.GetSecret(pod.Metadata.Namespace ?? "default", reference.Name ?? "");
            if (secret?.Data is null)
            {
                continue;
            }

            var (json, nested) = secret.Data.TryGetValue(".dockerconfigjson", out var config) ? (config, true)
                : secret.Data.TryGetValue(".dockercfg", out var legacy) ? (legacy, false)
                : (null, false);
            if (json is null)
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(json);
                var auths = document.RootElement;
                if (nested && !auths.TryGetProperty("auths", out auths))
                {
                    continue;
                }

                foreach (var entry in auths.EnumerateObject())
                {
                    if (!string.Equals(RegistryOfKey(entry.Name), registry, StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    if (Read(entry.Value) is { } credentials)
                    {
                        return credentials;
                    }
                }
            }
            catch (JsonException)
            {
                // A malformed pull secret gives no credentials; the pull then fails with the registry's answer.
            }
        }

        return null;
    }

    /// <summary>The registry host of an image reference; Docker Hub for references without one.</summary>
    public static string RegistryOf(string image)
    {
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return "docker.io";
        }

        var first = image[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"
            ? first
            : "docker.io";
    }

    private static string RegistryOfKey(string key)
    {
        var host = key;
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        var slash = host.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            host = host[..slash];
        }

        return host is "index.docker.io" or "registry-1.docker.io" ? "docker.io" : host;
    }

    private static RegistryCredentials? Read(JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (entry.TryGetProperty("username", out var user) && entry.TryGetProperty("password", out var password)
            && user.ValueKind == JsonValueKind.String && password.ValueKind == JsonValueKind.String)
        {
            return new RegistryCredentials(user.GetString()!, password.GetString()!);
        }

        if (entry.TryGetProperty("auth", out var auth) && auth.ValueKind == JsonValueKind.String)
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth.GetString()!));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    return new RegistryCredentials(decoded[..colon], decoded[(colon + 1)..]);
                }
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return null;
    }
}
