using Npgsql;

namespace Scraper.Storage.Postgres;

/// <summary>
/// Runs a unit of work on a fresh pooled connection. A transient failure (server down, restarting,
/// network gone) is waited out with back-off on the injected clock and the whole unit runs again,
/// which is safe because every write is an idempotent upsert in one transaction. Without an
/// <see cref="IStoreAvailability"/> (verify, export) the first failure is final.
/// </summary>
internal sealed class PostgresRetry(NpgsqlDataSource source, string target, TimeProvider time, IStoreAvailability? availability, CancellationToken stop)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private long? _downSince;

    /// <summary>Runs <paramref name="work"/>; <paramref name="what"/> names it in the error ("saving 200 candles of KRW-BTC/1").</summary>
    public T Run<T>(string what, Func<NpgsqlConnection, T> work)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                T result;
                using (var connection = source.OpenConnection())
                {
                    try
                    {
                        result = work(connection);
                    }
                    catch (Exception e) when (e is not (NpgsqlException or StoreException) && connection.State != System.Data.ConnectionState.Open)
                    {
                        // The driver can fail with an unexpected exception (NullReferenceException
                        // inside a read) when the server crashes under a running command; with the
                        // connection gone that is a lost connection, not a bug in the unit of work.
                        throw new IOException($"the connection to the server broke during the command ({e.GetType().Name})", e);
                    }
                }
                Recovered();
                return result;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException { InnerException: NpgsqlException } or IOException or TimeoutException)
            {
                var kind = PostgresErrors.Classify(e);
                if (kind != PostgresErrorKind.Transient || availability is null)
                    throw new StoreException($"{target}: {what} failed: {PostgresErrors.Describe(e)}", e);
                var delay = Delay(attempt);
                MarkDown();
                availability.Unavailable(target, PostgresErrors.Describe(e), delay);
                if (!Wait(delay))
                    throw new StoreException($"{target}: {what} abandoned at stop: the database was unavailable ({PostgresErrors.Describe(e)})", e);
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> with no result.</summary>
    public void Run(string what, Action<NpgsqlConnection> work) => Run(what, connection =>
    {
        work(connection);
        return 0;
    });

    internal static TimeSpan Delay(int attempt)
    {
        var delay = FirstDelay * Math.Pow(2, Math.Min(attempt, 10));
        return delay < MaxDelay ? delay : MaxDelay;
    }

    private void MarkDown()
    {
        lock (_gate) _downSince ??= time.GetTimestamp();
    }

    private void Recovered()
    {
        if (availability is null) return;
        long since;
        lock (_gate)
        {
            if (_downSince is null) return;
            since = _downSince.Value;
            _downSince = null;
        }
        availability.Available(target, time.GetElapsedTime(since));
    }

    /// <summary>Waits on the injected clock; false when stopped first.</summary>
    private bool Wait(TimeSpan delay)
    {
        if (stop.IsCancellationRequested) return false;
        using var elapsed = new ManualResetEventSlim();
        using var timer = time.CreateTimer(_ => elapsed.Set(), null, delay, Timeout.InfiniteTimeSpan);
        try
        {
            elapsed.Wait(stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
