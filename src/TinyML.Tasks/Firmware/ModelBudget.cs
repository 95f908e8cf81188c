namespace TinyML.Firmware;

/// <summary>
/// The board's budget checked right after planning, before any C is written or cross-compiled: the model's weights
/// alone must fit the board's flash and its arena alone the board's RAM. Both are lower bounds of what the firmware
/// needs (kernels, application and stack come on top), so a model refused here could never link; one that passes
/// may still overflow at link time, where the linker map gives the full breakdown (TML5002/TML5003 there too).
/// Boards without a budget (host) are not checked.
/// </summary>
public static class ModelBudget
{
    /// <param name="learnedBytes">Bytes of the arena that hold parameters learned on the device (<c>Train</c>): named in
    /// the message when the arena does not fit, since they are what learning adds.</param>
    /// <param name="learnedBiasesOnly">Only biases learn already (<c>TrainParameters="bias"</c>), so the message does not
    /// suggest it.</param>
    public static void Check(string boardName, string modelName, long weightBytes, long arenaBytes, string modelPath, long learnedBytes = 0, bool learnedBiasesOnly = false)
    {
        var board = Boards.Get(boardName);
        var flash = board.Flash is { } f ? (long)f.Size : (long?)null;
        var ram = board.Ram is { } r ? (long)r.Size : (long?)null;
        var flashOver = flash is { } fs && weightBytes > fs;
        var ramOver = ram is { } rs && arenaBytes > rs;
        if (!flashOver && !ramOver)
        {
            return;
        }

        string Part(string what, long bytes, long? budget, string region) => budget is { } b
            ? string.Create(CultureInfo.InvariantCulture, $"{what} {bytes:N0} B of {region} {b:N0} B{(bytes > b ? string.Create(CultureInfo.InvariantCulture, $" ({bytes - b:N0} B over)") : "")}")
            : string.Create(CultureInfo.InvariantCulture, $"{what} {bytes:N0} B");
        var hint = flashOver
            ? "use a smaller model (fewer or narrower layers), int8 rather than float32 weights (Quantize=\"int8\"), or a board with more flash"
            : learnedBytes > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{learnedBytes:N0} B of the arena are the float32 parameters of the layers that learn on the device (Train): {(learnedBiasesOnly ? "" : "learn only their biases (TrainParameters=\"bias\": the weights stay in flash), ")}learn a smaller last layer, or build without Train")
            : "a smaller input or narrower layers shrink the arena, and models that never run at the same time can share one (ArenaGroup)";
        throw new TinyMLException(flashOver ? ErrorCodes.FlashOverBudget : ErrorCodes.RamOverBudget,
            $"model '{modelName}' cannot fit board '{board.Name}' (checked after planning, before compiling): "
            + $"{Part("weights", weightBytes, flash, "flash")}; {Part("arena", arenaBytes, ram, "RAM")}; "
            + $"kernels, application and stack come on top of these; {hint}", modelPath);
    }
}
