using Microsoft.AspNetCore.Connections;

namespace Scraper.Metrics;

/// <summary>
/// Holds at most <c>capacity</c> connections. A connection over the limit closes the one idle
/// the longest (nothing sent yet, a head still arriving, or between requests); only when every
/// held connection is busy with a request is the newcomer turned away. An attacker's idle or
/// half-sent connections thus make room for a scraper instead of locking it out.
/// </summary>
internal sealed class ConnectionGate(int capacity)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Held>> _byId = new(StringComparer.Ordinal);
    private readonly LinkedList<Held> _byLastActivity = new(); // least recently active first

    /// <summary>Connections closed to make room for newer ones.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Connections held now.</summary>
    public int Count
    {
        get { lock (_lock) return _byId.Count; }
    }

    /// <summary>Connections turned away because every held one was busy.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    private long _evicted;
    private long _refused;

    /// <summary>The Kestrel connection middleware.</summary>
    public ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        if (!Admit(connection))
        {
            Interlocked.Increment(ref _refused);
            return; // Kestrel closes a connection whose middleware returns
        }
        try
        {
            await next(connection);
        }
        finally
        {
            Leave(connection.ConnectionId);
        }
    };

    /// <summary>A request started on the connection: it cannot be evicted until it ends.</summary>
    public void RequestStarted(string connectionId) => Mark(connectionId, busy: true);

    /// <summary>The request ended: the connection is idle again, and the most recently active.</summary>
    public void RequestEnded(string connectionId) => Mark(connectionId, busy: false);

    private bool Admit(ConnectionContext connection)
    {
        ConnectionContext? evict = null;
        lock (_lock)
        {
            if (_byId.Count >= capacity)
            {
                var node = _byLastActivity.First;
                while (node is not null && node.Value.Busy) node = node.Next;
                if (node is null) return false;
                Remove(node);
                evict = node.Value.Connection;
            }
            _byId[connection.ConnectionId] = _byLastActivity.AddLast(new Held(connection));
        }
        if (evict is not null)
        {
            Interlocked.Increment(ref _evicted);
            evict.Abort(new ConnectionAbortedException("closed to make room for a newer connection"));
        }
        return true;
    }

    private void Mark(string connectionId, bool busy)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(connectionId, out var node)) return;
            node.Value.Busy = busy;
            _byLastActivity.Remove(node);
            _byLastActivity.AddLast(node);
        }
    }

    private void Leave(string connectionId)
    {
        lock (_lock)
        {
            if (_byId.TryGetValue(connectionId, out var node)) Remove(node);
        }
    }

    private void Remove(LinkedListNode<Held> node)
    {
        _byId.Remove(node.Value.Connection.ConnectionId);
        _byLastActivity.Remove(node);
    }

    private sealed class Held(ConnectionContext connection)
    {
        public ConnectionContext Connection { get; } = connection;
        public bool Busy { get; set; }
    }
}
