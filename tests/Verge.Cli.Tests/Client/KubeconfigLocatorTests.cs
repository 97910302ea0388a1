using Verge.Cli.Client;

namespace Verge.Cli.Tests.Client;

public sealed class KubeconfigLocatorTests : IDisposable
{
    private readonly CliHarness _harness = new();

    private CliContext Context => _harness.Context(TextWriter.Null, TextWriter.Null);

    private string Home(string text = "home") => CliHarness.WriteFileIn(_harness.HomeDirectory, ".kube/config", text);

    private string Local(string text = "local") => _harness.WriteFile(".verge/admin.kubeconfig", text);

    [Fact]
    public void Locate_WhenFlagGiven_UsesItBeforeEverythingElse()
    {
        Home();
        Local();
        var flag = _harness.WriteFile("mine.yaml", "x");
        _harness.SetEnvironment("KUBECONFIG", Local());

        Assert.Equal([flag], KubeconfigLocator.Locate("mine.yaml", Context));
    }

    [Fact]
    public void Locate_WhenKubeconfigVariableSet_UsesItsExistingFilesBeforeLocal()
    {
        Local();
        var a = _harness.WriteFile("a.yaml", "a");
        var b = _harness.WriteFile("b.yaml", "b");
        _harness.SetEnvironment("KUBECONFIG", string.Join(Path.PathSeparator, a, Path.Combine(_harness.WorkingDirectory, "missing"), b));

        Assert.Equal([a, b], KubeconfigLocator.Locate(null, Context));
    }

    [Fact]
    public void Locate_WhenLocalVergeKubeconfigPresent_PrefersItToHome()
    {
        Home();
        var local = Local();

        Assert.Equal([local], KubeconfigLocator.Locate(null, Context));
    }

    [Fact]
    public void Locate_WhenOnlyHomeConfig_UsesHomeConfig()
    {
        var home = Home();

        Assert.Equal([home], KubeconfigLocator.Locate(null, Context));
    }

    [Fact]
    public void Locate_WhenNothingFound_ThrowsWithEveryPlaceTried()
    {
        var e = Assert.Throws<CliException>(() => KubeconfigLocator.Locate(null, Context));
        Assert.StartsWith("error: unable to read kubeconfig: none found", e.Message, StringComparison.Ordinal);
        Assert.Contains("verge up", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Locate_WhenFlagPathMissing_ThrowsUnableToRead()
    {
        var e = Assert.Throws<CliException>(() => KubeconfigLocator.Locate("nope.yaml", Context));
        Assert.Equal("error: unable to read kubeconfig nope.yaml: the file does not exist", e.Message);
    }

    public void Dispose() => _harness.Dispose();
}
