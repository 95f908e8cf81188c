namespace TinyML.Diagnostics;

/// <summary>
/// Every stable diagnostic code, by pipeline stage. Codes never change meaning once shipped; users can
/// <c>NoWarn</c> or <c>WarningsAsErrors</c> them.
/// </summary>
public static class ErrorCodes
{
    // 1xxx Import
    public const string ModelNotFound = "TML1000";
    public const string MalformedModel = "TML1001";
    public const string UnsupportedOp = "TML1002";
    public const string DynamicShape = "TML1003";
    public const string UnsupportedAttribute = "TML1004";
    public const string UnsupportedOpset = "TML1005";
    /// <summary>An initializer's external data path leaves the model's folder (absolute, <c>..</c>, or a symlink out).</summary>
    public const string ExternalDataOutsideModelFolder = "TML1006";
    /// <summary>If/Loop whose condition depends on a run-time input; pinning it with ConstantInputs lets it fold.</summary>
    public const string ControlFlowOnRuntimeInput = "TML1007";
    /// <summary>A constant holds NaN, or a layer's weights hold an infinity; names the initializer, element and node.</summary>
    public const string NonFiniteConstant = "TML1008";

    // 2xxx Quantize / calibration
    /// <summary>Warning: the model has no CalibrationData at all, so activation ranges come from random inputs.</summary>
    public const string NoCalibrationData = "TML2001";
    public const string BadCalibrationFile = "TML2002";
    public const string CalibrationFailed = "TML2003";
    public const string CalibrationIgnored = "TML2004";
    /// <summary>Int8 accuracy on the validation data is lower than float by more than <c>MaxAccuracyDrop</c> points.</summary>
    public const string AccuracyDropExceeded = "TML2005";
    /// <summary>CalibrationMethod / CalibrationPercentile / MaxAccuracyDrop / AccuracySamples has a value tinymlc does not know.</summary>
    public const string InvalidCalibrationSetting = "TML2006";
    /// <summary>ValidationData / ValidationLabels cannot be read or do not match each other.</summary>
    public const string BadValidationData = "TML2007";
    /// <summary><c>TinyExportQdq</c>: the compiled model has an op the QDQ ONNX export cannot express (LSTM/GRU, subgraphs).</summary>
    public const string QdqExportFailed = "TML2008";
    /// <summary>CalibrationData names a folder, file or glob folder that does not exist.</summary>
    public const string CalibrationDataNotFound = "TML2011";
    /// <summary>CalibrationData exists but holds no usable sample (no .npy/.npz/.bin file, or only empty arrays).</summary>
    public const string CalibrationDataEmpty = "TML2012";
    /// <summary>Warning: an int8 output's SNR against the float model is below the documented floor (Int8HealthCheck).</summary>
    public const string Int8OutputBelowSnrFloor = "TML2013";
    /// <summary>Warning: a Sigmoid/Tanh output was calibrated on a sliver of its range, so larger values saturate in int8.</summary>
    public const string Int8OutputSaturates = "TML2014";
    /// <summary>Precision / LayerPrecision / AutoPrecisionThresholdDb has a value tinymlc does not know, or a layer
    /// cannot run in the precision asked for.</summary>
    public const string InvalidPrecision = "TML2020";
    /// <summary>A per-layer precision names a node that is not a layer of the optimized model.</summary>
    public const string UnknownPrecisionLayer = "TML2021";
    /// <summary>On-device learning cannot train the layers asked for: they are not the model's trailing fully connected
    /// layers, or one of them has no gradient here (a constant-free or batched input, an unsupported activation).</summary>
    public const string InvalidTrainSetting = "TML2030";

    // 3xxx Plan
    public const string PlanFailed = "TML3001";
    public const string InvalidArenaGroup = "TML3002";

    /// <summary>A <c>KernelPolicy</c> other than speed or ram.</summary>
    public const string InvalidKernelPolicy = "TML3003";

    /// <summary>A <c>Tiling</c> other than auto or off, or a <c>MaxComputeOverhead</c> that is not a share such as 0.1.</summary>
    public const string InvalidTilingSetting = "TML3004";

    // 4xxx Emit
    public const string EmitFailed = "TML4001";
    /// <summary><c>-t:Profile</c> / <c>tinymlc profile</c> cannot profile the model: float32 (Quantize="none"), or several
    /// inputs or outputs.</summary>
    public const string ProfileUnavailable = "TML4002";

    // 5xxx Firmware build
    public const string ToolchainMissing = "TML5001";
    public const string FlashOverBudget = "TML5002";
    public const string RamOverBudget = "TML5003";
    public const string UnknownBoard = "TML5004";
    /// <summary>TinyMLStackBytes / --stack-bytes is not a multiple of 8 of at least 256 bytes.</summary>
    public const string InvalidStackSize = "TML5005";
    /// <summary>TinyMLConsoleTxPin / TinyMLConsoleBaud / TinyMLFlashOffset out of the board's range.</summary>
    public const string InvalidBoardSetting = "TML5007";
    /// <summary>Flash: none of the board's flashing tools is installed (says how to install one), or the board is not flashed.</summary>
    public const string NoFlashTool = "TML5008";
    /// <summary>Flash: the flashing tool failed (no board connected, wrong probe, ...).</summary>
    public const string FlashFailed = "TML5009";
    /// <summary>Warning: the firmware fills more than 90 % of the board's flash or RAM (with what it is made of).</summary>
    public const string NearMemoryBudget = "TML5006";
    /// <summary>idf.py build failed (the ESP-IDF build's own errors are reported above it where recognised).</summary>
    public const string EspIdfBuildFailed = "TML5010";
    /// <summary>An ESP-IDF board's project folder is not an ESP-IDF project: no top-level CMakeLists.txt calling
    /// project(), or one that does not add the generated model component (obj/esp-idf/tinyml).</summary>
    public const string EspIdfProjectInvalid = "TML5011";
    /// <summary>The project folder's own sdkconfig (from idf.py set-target/build run there) is for another chip than the
    /// board: idf.py reads it even when the build's sdkconfig is elsewhere, and would build or refuse the wrong chip.</summary>
    public const string EspIdfTargetMismatch = "TML5012";
    /// <summary>The linked image's boot block (RP2040's .boot2) is missing, not at the start of flash or not its size,
    /// so the boot ROM would not start it (e.g. the project defines a .boot2 section of its own).</summary>
    public const string InvalidBootBlock = "TML5018";
    public const string CompilerError = "TML5100";
    public const string CompilerFatalError = "TML5101";
    public const string LinkerError = "TML5102";
    public const string CompilerWarning = "TML5103";

    // 6xxx Run
    public const string EmulatorMissing = "TML6001";
    public const string EmulatorTimeout = "TML6002";
    public const string FirmwareFailed = "TML6003";
    /// <summary>Run was asked for a board whose core no emulator here models (ESP32/ESP32-S3, Xtensa LX6/LX7); the
    /// message says how to flash and monitor it.</summary>
    public const string NoEmulatorForBoard = "TML6004";

    // 7xxx Validate (-t:Validate) and bench (-t:Bench)
    /// <summary>The firmware's int8 output differs from the C# reference (names the first sample and output element).</summary>
    public const string ValidationMismatch = "TML7001";
    /// <summary>The firmware's float32 output is outside the documented tolerance of the C# float reference.</summary>
    public const string ValidationFloatMismatch = "TML7002";
    /// <summary>The firmware's accuracy on ValidationData/ValidationLabels is below <c>MinAccuracy</c>.</summary>
    public const string AccuracyBelowMinimum = "TML7003";
    /// <summary>A bad MinAccuracy, TinyMLBenchTolerance, TinyMLBenchBoards or TinyMLBenchBaseline setting.</summary>
    public const string InvalidValidateSetting = "TML7004";
    /// <summary>The generated model C in obj/ is not what the compiler makes from the project now.</summary>
    public const string GeneratedCodeOutOfDate = "TML7005";
    /// <summary>A model to validate or bench has neither ValidationData nor CalibrationData.</summary>
    public const string NoValidationData = "TML7006";
    /// <summary>Warning: no ValidationData, so the calibration samples are the validation samples.</summary>
    public const string ValidationOnCalibrationData = "TML7007";
    /// <summary>-t:Validate or -t:Bench for a board whose core has no emulator here (ESP32, ESP32-S3): nothing can run the samples.</summary>
    public const string NoEmulatorToValidate = "TML7008";
    /// <summary>Bench: instructions per inference worse than the baseline by more than the tolerance.</summary>
    public const string BenchSlower = "TML7010";
    /// <summary>Bench: flash, RAM, arena or stack high-water worse than the baseline by more than the tolerance.</summary>
    public const string BenchBigger = "TML7011";
    /// <summary>Bench: accuracy, top-1 agreement or output SNR worse than the baseline by more than the tolerance (points / dB).</summary>
    public const string BenchLessAccurate = "TML7012";
    /// <summary>Bench: the baseline file is missing or not a bench.json.</summary>
    public const string BenchBaselineUnreadable = "TML7013";
    /// <summary>Warning: a model/board measured now has no baseline entry, or a baseline entry was not measured.</summary>
    public const string BenchBaselineEntryMissing = "TML7014";

    // 9xxx Internal
    /// <summary>Quantize / --quantize names no known precision (the SDK targets raise the same code first).</summary>
    public const string UnsupportedQuantize = "TML9003";
    /// <summary>A response file named on the command line (<c>@file</c>) does not exist or cannot be read.</summary>
    public const string ResponseFileMissing = "TML9006";
    /// <summary><c>ModelName</c> / <c>--name</c> is not a C identifier (it names files and C symbols).</summary>
    public const string InvalidModelName = "TML9007";
    /// <summary><c>TinyMLProjectName</c> / firmware <c>--name</c> is not a plain file name (it names the firmware files).</summary>
    public const string InvalidProjectName = "TML9008";
    public const string InternalError = "TML9999";
}
