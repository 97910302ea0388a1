namespace Verge.ApiServer.Tests.Protobuf;

/// <summary>
/// Request bodies captured from kubectl v1.32.4 (client-go's protobuf encoder), each with the JSON kubectl prints
/// for the same command with <c>--dry-run=client -o json</c> (less <c>creationTimestamp: null</c>, which the decoder
/// leaves out). Produced by pointing a kubeconfig with <c>server: http://127.0.0.1:PORT</c> at a small HTTP server
/// that answered discovery and saved POST bodies, then running the command shown; <see cref="KubectlLiveTests"/> does
/// the same live.
/// </summary>
internal static class KubectlCaptures
{
    public sealed record Capture(string Command, string Base64, string Json)
    {
        public byte[] Body => Convert.FromBase64String(Base64);

        public override string ToString() => Command;
    }

    public static readonly Capture Namespace = new(
        "kubectl create namespace demo",
        "azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhwKFAoEZGVtbxIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==",
        """{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"demo"},"spec":{},"status":{}}""");

    public static readonly Capture ConfigMap = new(
        "kubectl create configmap settings --from-literal=a=b --from-literal=mode=edge",
        "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEjAKGAoIc2V0dGluZ3MSABoAIgAqADIAOABCABIGCgFhEgFiEgwKBG1vZGUSBGVkZ2UaACIA",
        """{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings"},"data":{"a":"b","mode":"edge"}}""");

    public static readonly Capture Secret = new(
        "kubectl create secret generic creds --from-literal=user=admin --from-literal=password=s3cr3t!",
        "azhzAAoMCgJ2MRIGU2VjcmV0Ej0KFQoFY3JlZHMSABoAIgAqADIAOABCABITCghwYXNzd29yZBIHczNjcjN0IRINCgR1c2VyEgVhZG1pbhoAGgAiAA==",
        """{"kind":"Secret","apiVersion":"v1","metadata":{"name":"creds"},"data":{"password":"czNjcjN0IQ==","user":"YWRtaW4="}}""");

    public static readonly Capture DeploymentWithCommand = new(
        "kubectl create deployment web --image=busybox --replicas 0 --port 8080 -- sleep 3600",
        "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EsoBCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEpgBCAASDAoKCgNhcHASA3dlYhp+ChwKABIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEl4SQAoHYnVzeWJveBIHYnVzeWJveBoFc2xlZXAaBDM2MDAqADILCgAQABiQPyIAKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAIgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA=",
        """
        {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","labels":{"app":"web"}},
         "spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},
                 "template":{"metadata":{"labels":{"app":"web"}},
                             "spec":{"containers":[{"name":"busybox","image":"busybox","command":["sleep","3600"],
                                                    "ports":[{"containerPort":8080}],"resources":{}}]}},
                 "strategy":{}},
         "status":{}}
        """);

    public static readonly Capture Deployment = new(
        "kubectl create deployment nginx --image=nginx",
        "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50ErMBCiMKBW5naW54EgAaACIAKgAyADgAQgBaDAoDYXBwEgVuZ2lueBJ+CAESDgoMCgNhcHASBW5naW54GmIKHgoAEgAaACIAKgAyADgAQgBaDAoDYXBwEgVuZ2lueBJAEiIKBW5naW54EgVuZ2lueCoAQgBqAHIAgAEAiAEAkAEAogEAGgAyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBACICCgAoADgAGgwIABAAGAAgACgAOAAaACIA",
        """
        {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"nginx","labels":{"app":"nginx"}},
         "spec":{"replicas":1,"selector":{"matchLabels":{"app":"nginx"}},
                 "template":{"metadata":{"labels":{"app":"nginx"}},
                             "spec":{"containers":[{"name":"nginx","image":"nginx","resources":{}}]}},
                 "strategy":{}},
         "status":{}}
        """);

    public static readonly Capture BinaryConfigMap = new(
        "kubectl create configmap blobs --from-file=bin.dat --from-file=txt.dat (bin.dat = 00 01 ff fe, txt.dat = \"hello\\n\")",
        "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEjsKFQoFYmxvYnMSABoAIgAqADIAOABCABIRCgd0eHQuZGF0EgZoZWxsbwoaDwoHYmluLmRhdBIEAAH//hoAIgA=",
        """{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"blobs"},"data":{"txt.dat":"hello\n"},"binaryData":{"bin.dat":"AAH//g=="}}""");

    public static readonly Capture BinarySecret = new(
        "kubectl create secret generic blob --from-file=bin.dat",
        "azhzAAoMCgJ2MRIGU2VjcmV0EikKFAoEYmxvYhIAGgAiACoAMgA4AEIAEg8KB2Jpbi5kYXQSBAAB//4aABoAIgA=",
        """{"kind":"Secret","apiVersion":"v1","metadata":{"name":"blob"},"data":{"bin.dat":"AAH//g=="}}""");

    public static readonly Capture TwoContainers = new(
        "kubectl create deployment multi --image=nginx --image=redis --replicas 3",
        "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EtkBCiMKBW11bHRpEgAaACIAKgAyADgAQgBaDAoDYXBwEgVtdWx0aRKjAQgDEg4KDAoDYXBwEgVtdWx0aRqGAQoeCgASABoAIgAqADIAOABCAFoMCgNhcHASBW11bHRpEmQSIgoFbmdpbngSBW5naW54KgBCAGoAcgCAAQCIAQCQAQCiAQASIgoFcmVkaXMSBXJlZGlzKgBCAGoAcgCAAQCIAQCQAQCiAQAaADIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAIgIKACgAOAAaDAgAEAAYACAAKAA4ABoAIgA=",
        """
        {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"multi","labels":{"app":"multi"}},
         "spec":{"replicas":3,"selector":{"matchLabels":{"app":"multi"}},
                 "template":{"metadata":{"labels":{"app":"multi"}},
                             "spec":{"containers":[{"name":"nginx","image":"nginx","resources":{}},
                                                   {"name":"redis","image":"redis","resources":{}}]}},
                 "strategy":{}},
         "status":{}}
        """);

    public static readonly Capture NamespacedWithArgs = new(
        "kubectl -n edge create deployment withargs --image=busybox --replicas 2 -- /bin/sh -c 'echo hi'",
        "azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50Et4BCi0KCHdpdGhhcmdzEgAaBGVkZ2UiACoAMgA4AEIAWg8KA2FwcBIId2l0aGFyZ3MSngEIAhIRCg8KA2FwcBIId2l0aGFyZ3MafwohCgASABoAIgAqADIAOABCAFoPCgNhcHASCHdpdGhhcmdzEloSPAoHYnVzeWJveBIHYnVzeWJveBoHL2Jpbi9zaBoCLWMaB2VjaG8gaGkqAEIAagByAIABAIgBAJABAKIBABoAMgBCAEoAUgBYAGAAaACCAQCKAQCaAQDCAQAiAgoAKAA4ABoMCAAQABgAIAAoADgAGgAiAA==",
        """
        {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"withargs","namespace":"edge","labels":{"app":"withargs"}},
         "spec":{"replicas":2,"selector":{"matchLabels":{"app":"withargs"}},
                 "template":{"metadata":{"labels":{"app":"withargs"}},
                             "spec":{"containers":[{"name":"busybox","image":"busybox","command":["/bin/sh","-c","echo hi"],"resources":{}}]}},
                 "strategy":{}},
         "status":{}}
        """);

    public static IEnumerable<Capture> All =>
    [
        Namespace, ConfigMap, Secret, DeploymentWithCommand, Deployment, BinaryConfigMap, BinarySecret, TwoContainers, NamespacedWithArgs,
    ];
}
