using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Verge.Store.Sqlite;

/// <summary>A small pool of read-only connections, so reads run beside the writer and never wait for it (WAL).</summary>
internal sealed class ReadConnectionPool(string connectionString, int maxIdle) : IDisposable
{
    private readonly ConcurrentBag<SqliteConnection> _idle = [];
    private int _idleCount;
    private volatile bool _disposed;

    public SqliteConnection Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var connection))
        {
            Interlocked.Decrement(ref _idleCount);
            return connection;
        }

        connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA query_only = ON;";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Return(SqliteConnection connection)
    {
        if (_disposed)
        {
            connection.Dispose();
            return;
        }

        if (Interlocked.Increment(ref _idleCount) > maxIdle)
        {
            Interlocked.Decrement(ref _idleCount);
            connection.Dispose();
            return;
        }

        _idle.Add(connection);
        if (_disposed)
        {
            DrainIdle();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        DrainIdle();
    }

    private void DrainIdle()
    {
        while (_idle.TryTake(out var connection))
        {
            Interlocked.Decrement(ref _idleCount);
            connection.Dispose();
        }
    }
}
