using Verge.Agent.Drivers;

namespace Verge.Agent.Pods;

/// <summary>
/// The node's workload drivers by name, with their last fingerprint. A pod's runtimeClassName picks its driver (none
/// means the default one); a driver that is unknown or unhealthy gives a message in kubelet's words.
/// </summary>
internal sealed class DriverRegistry
{
    private readonly Dictionary<string, IWorkloadDriver> _drivers;
    private readonly Dictionary<string, DriverFingerprint> _fingerprints = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public DriverRegistry(IReadOnlyList<IWorkloadDriver> drivers, string defaultDriver)
    {
        ArgumentNullException.ThrowIfNull(drivers);
        _drivers = new Dictionary<string, IWorkloadDriver>(StringComparer.Ordinal);
        foreach (var driver in drivers)
        {
            if (!_drivers.TryAdd(driver.Name, driver))
            {
                throw new ArgumentException($"Two drivers are named \"{driver.Name}\".", nameof(drivers));
            }
        }

        if (!_drivers.ContainsKey(defaultDriver))
        {
            throw new ArgumentException(
                $"The default driver \"{defaultDriver}\" is not among the drivers ({string.Join(", ", _drivers.Keys)}).", nameof(defaultDriver));
        }

        DefaultDriver = defaultDriver;
    }

    public string DefaultDriver { get; }

    public IReadOnlyCollection<string> Names => _drivers.Keys;

    public IWorkloadDriver? Get(string name) => _drivers.GetValueOrDefault(name);

    /// <summary>Fingerprints every driver (at agent start).</summary>
    public async Task FingerprintAllAsync(CancellationToken ct)
    {
        foreach (var driver in _drivers.Values)
        {
            await FingerprintAsync(driver, ct);
        }
    }

    /// <summary>The driver for a runtime class, or null with the reason; unhealthy drivers are fingerprinted again.</summary>
    public async Task<(IWorkloadDriver? Driver, string? Error)> ResolveAsync(string? runtimeClassName, CancellationToken ct)
    {
        var name = string.IsNullOrEmpty(runtimeClassName) ? DefaultDriver : runtimeClassName;
        if (!_drivers.TryGetValue(name, out var driver))
        {
            return (null, $"no runtime for \"{name}\" is configured (this node runs: {string.Join(", ", _drivers.Keys.Order(StringComparer.Ordinal))})");
        }

        DriverFingerprint? fingerprint;
        lock (_lock)
        {
            fingerprint = _fingerprints.GetValueOrDefault(name);
        }

        if (fingerprint is not { Healthy: true })
        {
            fingerprint = await FingerprintAsync(driver, ct);
        }

        return fingerprint.Healthy ? (driver, null) : (null, $"runtime \"{name}\" is not ready: {fingerprint.Detail}");
    }

    private async Task<DriverFingerprint> FingerprintAsync(IWorkloadDriver driver, CancellationToken ct)
    {
        DriverFingerprint fingerprint;
        try
        {
            fingerprint = await driver.FingerprintAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            fingerprint = new DriverFingerprint(false, e.Message);
        }

        lock (_lock)
        {
            _fingerprints[driver.Name] = fingerprint;
        }

        return fingerprint;
    }
}
