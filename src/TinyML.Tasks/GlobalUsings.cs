// The namespaces most of the compiler's files use, named once for the project (ImplicitUsings adds System, System.IO,
// System.Linq and System.Collections.Generic).
global using System.Globalization;
global using System.Text;
global using TinyML.Diagnostics;
global using TinyML.Ir;
