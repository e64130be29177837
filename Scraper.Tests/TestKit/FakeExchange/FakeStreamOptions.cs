namespace Scraper.Tests.FakeExchange;

/// <summary>How the fake's WebSocket sends its messages.</summary>
public enum FrameMode
{
    /// <summary>Every message as a text frame.</summary>
    Text,
    /// <summary>Every message as a binary frame of UTF-8 JSON (what the exchange mostly does).</summary>
    Binary,
    /// <summary>Text and binary frames in turn.</summary>
    Alternate,
}

/// <summary>Behaviour and faults of the fake's <c>/websocket/v1</c>; mutable while it runs.</summary>
public sealed class FakeStreamOptions
{
    /// <summary>How often the server looks for trades and sends what changed (the exchange: at most once a second per candle).</summary>
    public TimeSpan Tick { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Chance that a forming candle with trades gets an update on a tick.</summary>
    public double UpdateProbability { get; set; } = 0.5;

    /// <summary>The server closes a connection that sent nothing for this long.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long the server waits for the subscription after the upgrade.</summary>
    public TimeSpan SubscribeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>New connections per second and IP; more are refused with 429.</summary>
    public int ConnectsPerSecond { get; set; } = 5;

    /// <summary>Text or binary frames.</summary>
    public FrameMode Frames { get; set; } = FrameMode.Binary;

    /// <summary>Sends the error and closes the connection (true), or goes on serving the valid codes.</summary>
    public bool CloseOnError { get; set; } = true;

    /// <summary>Refuses every new connection (HTTP 503, no upgrade) until this instant of the exchange's time provider.</summary>
    public DateTimeOffset RefuseUntil { get; set; } = DateTimeOffset.MinValue;

    /// <summary>Refuses every upgrade for good: a proxy that blocks WebSocket.</summary>
    public bool RefuseAll { get; set; }

    /// <summary>A connection is aborted (no close frame) after this long; null: never.</summary>
    public TimeSpan? DisconnectAfter { get; set; }

    /// <summary>A connection goes silent (sends nothing, answers nothing, stays open) after this long; null: never.</summary>
    public TimeSpan? StallAfter { get; set; }

    /// <summary>Waits this long before each message: a slow server.</summary>
    public TimeSpan SendDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Every Nth message of a connection is replaced by garbage; 0: never.</summary>
    public int MalformedEvery { get; set; }

    /// <summary>Every Nth message of a connection is cut in half; 0: never.</summary>
    public int TruncatedEvery { get; set; }

    /// <summary>Chance that a realtime candle message is lost.</summary>
    public double DropProbability { get; set; }

    /// <summary>Seed of the update and drop choices.</summary>
    public int Seed { get; set; } = 7;
}
