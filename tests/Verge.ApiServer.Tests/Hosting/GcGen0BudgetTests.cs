using Verge.ApiServer.Hosting;

namespace Verge.ApiServer.Tests.Hosting;

public sealed class GcGen0BudgetTests : IDisposable
{
    private readonly DirectoryInfo _cache = Directory.CreateTempSubdirectory("verge-cache-");

    public void Dispose() => _cache.Delete(recursive: true);

    private static string? NoEnvironment(string name) => null;

    [Fact]
    public void AMachineThatListsItsCaches_KeepsTheRuntimesBudget()
    {
        Directory.CreateDirectory(Path.Combine(_cache.FullName, "index0"));
        File.WriteAllText(Path.Combine(_cache.FullName, "index0", "size"), "32K\n");
        Directory.CreateDirectory(Path.Combine(_cache.FullName, "index3"));
        File.WriteAllText(Path.Combine(_cache.FullName, "index3", "size"), "32768K\n");

        Assert.False(GcGen0Budget.FallsToItsFloor(_cache.FullName, NoEnvironment, serverGc: false));
    }

    [Fact]
    public void AMachineThatHidesItsCaches_IsNamed_UnlessTheBudgetIsSet()
    {
        Assert.Equal(OperatingSystem.IsLinux(), GcGen0Budget.FallsToItsFloor(_cache.FullName, NoEnvironment, serverGc: false));
        Assert.Equal(OperatingSystem.IsLinux(), GcGen0Budget.FallsToItsFloor(Path.Combine(_cache.FullName, "absent"), NoEnvironment, serverGc: false));

        Directory.CreateDirectory(Path.Combine(_cache.FullName, "index0"));
        File.WriteAllText(Path.Combine(_cache.FullName, "index0", "size"), "0K\n");
        Assert.Equal(OperatingSystem.IsLinux(), GcGen0Budget.FallsToItsFloor(_cache.FullName, NoEnvironment, serverGc: false));

        Assert.False(GcGen0Budget.FallsToItsFloor(_cache.FullName, name => name == "DOTNET_GCgen0size" ? "0x1000000" : null, serverGc: false));
        Assert.False(GcGen0Budget.FallsToItsFloor(_cache.FullName, name => name == "COMPlus_GCgen0size" ? "1000000" : null, serverGc: false));
    }

    [Fact]
    public void UnderServerGc_TheCachesDoNotMatter()
    {
        Assert.Equal(OperatingSystem.IsLinux(), GcGen0Budget.FallsToItsFloor(_cache.FullName, NoEnvironment, serverGc: false));
        Assert.False(GcGen0Budget.FallsToItsFloor(_cache.FullName, NoEnvironment, serverGc: true));
    }
}
