// The namespaces most of the compiler's files use, named once for the project (ImplicitUsings adds System, System.IO,
// System.Linq and System.Collections.Generic).
global using System.Globalization;
global using System.Text;
global using TinyML.Diagnostics;
global using TinyML.Ir;

// ONNX Runtime's element-type enum under another name: TinyML.Ir (above) has its own TensorElementType, and the files
// that talk to ONNX Runtime (Quantize/Ort*) need both.
global using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
