using System.Runtime.InteropServices;

namespace Scraper.Storage.Sqlite;

/// <summary>
/// The few SQLite calls the candle upsert makes per value, straight into the library that
/// SQLitePCLRaw loads (e_sqlite3), on a statement pointer the caller keeps alive. Through
/// SQLitePCLRaw each call also takes and releases the statement's SafeHandle and goes through its
/// provider interface, and text is always bound SQLITE_TRANSIENT (SQLite allocates and copies it).
/// </summary>
internal static partial class SqliteNative
{
    private const string Library = "e_sqlite3";

    /// <summary>SQLite reads the text where it is until it is bound again or the statement is reset and cleared.</summary>
    public const nint Static = 0;

    /// <summary>SQLite copies the text before the call returns.</summary>
    public const nint Transient = -1;

    [LibraryImport(Library, EntryPoint = "sqlite3_bind_text")]
    public static partial int BindText(nint statement, int index, ref byte text, int length, nint destructor);

    [LibraryImport(Library, EntryPoint = "sqlite3_bind_int64")]
    public static partial int BindInt64(nint statement, int index, long value);

    [LibraryImport(Library, EntryPoint = "sqlite3_bind_null")]
    public static partial int BindNull(nint statement, int index);

    [LibraryImport(Library, EntryPoint = "sqlite3_step")]
    public static partial int Step(nint statement);

    [LibraryImport(Library, EntryPoint = "sqlite3_reset")]
    public static partial int Reset(nint statement);

    [LibraryImport(Library, EntryPoint = "sqlite3_clear_bindings")]
    public static partial int ClearBindings(nint statement);
}
