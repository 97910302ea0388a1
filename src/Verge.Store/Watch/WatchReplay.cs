using System.Runtime.CompilerServices;

namespace Verge.Store.Watch;

/// <summary>Reads one page of history: events under a prefix with revisions above a revision, in order.</summary>
/// <remarks>Throws <see cref="RevisionCompactedException"/> when that history has been compacted away.</remarks>
internal delegate ValueTask<IReadOnlyList<WatchEvent>> HistoryPageReader(
    string prefix,
    long afterRevision,
    int limit,
    CancellationToken cancellationToken);

/// <summary>
/// The watch algorithm every in-process backend shares: subscribe to live events first, then replay history from
/// the backend page by page, then continue with the live events, skipping any revision already delivered. Because
/// the subscription exists before the last history page is read, every commit is either in that page or in the live
/// buffer, so the switch has no gap; de-duplication by revision removes the overlap.
/// </summary>
internal static class WatchReplay
{
    public static async IAsyncEnumerable<WatchEvent> RunAsync(
        WatchHub hub,
        string prefix,
        long afterRevision,
        int pageSize,
        HistoryPageReader readHistory,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var subscription = hub.Subscribe(prefix);
        long last = afterRevision;
        while (true)
        {
            var page = await readHistory(prefix, last, pageSize, cancellationToken);
            foreach (var watchEvent in page)
            {
                last = watchEvent.Revision;
                yield return watchEvent;
            }

            if (page.Count < pageSize)
            {
                break;
            }
        }

        while (await subscription.Reader.WaitToReadAsync(cancellationToken))
        {
            while (subscription.Reader.TryRead(out var watchEvent))
            {
                if (watchEvent.Revision <= last)
                {
                    continue;
                }

                last = watchEvent.Revision;
                yield return watchEvent;
            }
        }
    }
}
