using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Verge.Core.Edge;
using Verge.Core.Serialization;

namespace Verge.Gateway.Auth;

/// <summary>One device the gateway serves, as the broker needs it.</summary>
/// <param name="Password">The `password` key of the device's credentials Secret; null when the Secret or key is missing (password login refused).</param>
/// <param name="DesiredJson">spec.desired as compact JSON, or null.</param>
internal sealed record DeviceEntry(string Namespace, string Name, byte[]? Password, byte[]? DesiredJson);

/// <summary>
/// An immutable snapshot of the devices and local users, rebuilt from <see cref="IGatewayState"/> on every change and
/// swapped in whole, so the broker's connection handlers read it without locks.
/// </summary>
internal sealed class DeviceDirectory
{
    public const string PasswordKey = "password";

    private readonly Dictionary<string, DeviceEntry> _devices;
    private readonly Dictionary<string, byte[]> _localUsers;

    private DeviceDirectory(Dictionary<string, DeviceEntry> devices, Dictionary<string, byte[]> localUsers)
    {
        _devices = devices;
        _localUsers = localUsers;
    }

    public static DeviceDirectory Empty { get; } = new(new(StringComparer.Ordinal), new(StringComparer.Ordinal));

    public IEnumerable<DeviceEntry> Devices => _devices.Values;

    /// <summary>Builds a snapshot. Device names are unique per gateway: a second device of the same name (another namespace) is skipped.</summary>
    public static DeviceDirectory Build(IGatewayState state, IReadOnlyList<LocalUser> localUsers)
    {
        var devices = new Dictionary<string, DeviceEntry>(StringComparer.Ordinal);
        foreach (var device in state.ListDevices().OrderBy(d => d.Metadata.Namespace, StringComparer.Ordinal))
        {
            var name = device.Metadata.Name;
            var ns = device.Metadata.Namespace ?? "default";
            if (string.IsNullOrEmpty(name) || devices.ContainsKey(name))
            {
                continue;
            }

            byte[]? password = null;
            if (!string.IsNullOrEmpty(device.Spec?.CredentialsSecret) && state.GetSecret(ns, device.Spec.CredentialsSecret) is { } secret)
            {
                if (secret.Data?.TryGetValue(PasswordKey, out var data) == true)
                {
                    password = data;
                }
                else if (secret.StringData?.TryGetValue(PasswordKey, out var text) == true)
                {
                    password = Encoding.UTF8.GetBytes(text);
                }
            }

            byte[]? desired = device.Spec?.Desired is { } d ? JsonSerializer.SerializeToUtf8Bytes(d, NodeJsonContext.Default.JsonObject) : null;
            devices[name] = new DeviceEntry(ns, name, password is { Length: > 0 } ? password : null, desired);
        }

        var users = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var user in localUsers)
        {
            users[user.UserName] = Encoding.UTF8.GetBytes(user.Password);
        }

        return new DeviceDirectory(devices, users);
    }

    public DeviceEntry? FindDevice(string? name) => name is not null && _devices.TryGetValue(name, out var d) ? d : null;

    public bool IsLocalUser(string? userName) => userName is not null && _localUsers.ContainsKey(userName);

    /// <summary>Checks a local user's password (constant time).</summary>
    public bool CheckLocalUser(string userName, ReadOnlySpan<byte> password) =>
        _localUsers.TryGetValue(userName, out var expected) && CryptographicOperations.FixedTimeEquals(expected, password);

    /// <summary>Checks a device's password (constant time); false for unknown devices or devices without a password.</summary>
    public bool CheckDevice(string name, ReadOnlySpan<byte> password) =>
        FindDevice(name) is { Password: { } expected } && CryptographicOperations.FixedTimeEquals(expected, password);
}
