namespace Scraper.Hosting;

/// <summary>The process exit codes (sysexits.h where one fits).</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;
    /// <summary>verify found a gap, or backfill could not complete the range.</summary>
    public const int Incomplete = 1;
    /// <summary>EX_IOERR: the database cannot be used (corrupt, foreign, unwritable, disk full).</summary>
    public const int Database = 74;
    /// <summary>EX_CONFIG: invalid configuration; systemd does not restart on it.</summary>
    public const int Config = 78;
}
