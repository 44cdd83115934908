// wasikv-wasm2c-glue: the C++ that links a wasm2c-compiled guest to the
// wasi:keyvalue adapter.
//
//   wasikv-wasm2c-glue --module-name NAME [--wasm2c-header NAME.h] GUEST.wasm OUT.cc
//
// NAME is the name given to `wasm2c -n`. OUT.cc defines every function the
// guest imports, under the name and C signature wasm2c 1.0.32 expects, and
// the descriptor `kWasm2cModule_NAME` that Wasm2cGuest::Create takes. The
// guest may import only functions the adapter serves, with the adapter's
// signatures: anything else fails here, naming the import, rather than at
// link or run time.
#include <array>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "wasikv/adapter/core_abi.h"

namespace wasikv::adapter {
namespace {

// ---------------------------------------------------------------------------
// The parts of a core module the glue needs: types, imports, the function
// index space and exports. Value types are letters, as in CoreImport: 'i'
// i32, 'I' i64, 'f' f32, 'F' f64, and 'v' v128, 'r' any reference, which no
// binding function can carry.

struct FuncType {
  std::string params;
  std::string results;
};

enum class ExternKind : uint8_t { kFunction = 0, kTable = 1, kMemory = 2, kGlobal = 3, kTag = 4 };

struct Import {
  std::string module;
  std::string name;
  ExternKind kind;
  uint32_t type_index = 0;  // functions only
};

struct Export {
  std::string name;
  ExternKind kind;
  uint32_t index;
};

struct WasmModule {
  std::vector<FuncType> types;
  std::vector<Import> imports;
  std::vector<uint32_t> function_types;  // imported functions first
  std::vector<Export> exports;
};

// Reads the binary format. The first error sticks; reads after it return
// zeros, so callers check ok() once per section.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, size_t base) : bytes_(bytes), base_(base) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool at_end() const { return pos_ >= bytes_.size(); }

  void Fail(std::string_view why) {
    if (ok()) error_ = fmt::format("at byte {}: {}", base_ + pos_, why);
  }

  uint8_t U8() {
    if (pos_ >= bytes_.size()) {
      Fail("unexpected end");
      return 0;
    }
    return bytes_[pos_++];
  }

  uint64_t Leb(int max_bits) {
    uint64_t value = 0;
    for (int shift = 0; shift < max_bits; shift += 7) {
      const uint8_t byte = U8();
      if (!ok()) return 0;
      value |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return value;
    }
    Fail("LEB128 number too long");
    return 0;
  }
  uint32_t U32() { return static_cast<uint32_t>(Leb(32)); }

  // The next `size` bytes, as a reader of their own.
  Reader Sub(size_t size) {
    if (size > bytes_.size() - pos_) {
      Fail("section or name runs past the end");
      return Reader({}, base_ + pos_);
    }
    Reader sub(bytes_.subspan(pos_, size), base_ + pos_);
    pos_ += size;
    return sub;
  }

  std::string Name() {
    Reader name = Sub(U32());
    return std::string(name.bytes_.begin(), name.bytes_.end());
  }

  char ValType() {
    switch (const uint8_t byte = U8()) {
      case 0x7f:
        return 'i';
      case 0x7e:
        return 'I';
      case 0x7d:
        return 'f';
      case 0x7c:
        return 'F';
      case 0x7b:
        return 'v';
      case 0x70:
      case 0x6f:
        return 'r';
      case 0x63:  // (ref null ht), (ref ht)
      case 0x64:
        Leb(33);
        return 'r';
      default:
        Fail(fmt::format("unknown value type {:#04x}", byte));
        return '?';
    }
  }

  void Limits() {
    const uint8_t flags = U8();
    Leb(64);
    if (flags & 1) Leb(64);
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t base_;
  size_t pos_ = 0;
  std::string error_;
};

std::string ReadTypes(Reader& section, WasmModule& module) {
  for (uint32_t n = section.U32(); n > 0 && section.ok(); --n) {
    if (section.U8() != 0x60) {
      section.Fail("only function types are supported");
      break;
    }
    FuncType type;
    for (uint32_t i = section.U32(); i > 0 && section.ok(); --i) type.params += section.ValType();
    for (uint32_t i = section.U32(); i > 0 && section.ok(); --i) type.results += section.ValType();
    module.types.push_back(std::move(type));
  }
  return section.error();
}

std::string ReadImports(Reader& section, WasmModule& module) {
  for (uint32_t n = section.U32(); n > 0 && section.ok(); --n) {
    Import import;
    import.module = section.Name();
    import.name = section.Name();
    const uint8_t kind = section.U8();
    import.kind = static_cast<ExternKind>(kind);
    switch (import.kind) {
      case ExternKind::kFunction:
        import.type_index = section.U32();
        module.function_types.push_back(import.type_index);
        break;
      case ExternKind::kTable:
        section.ValType();
        section.Limits();
        break;
      case ExternKind::kMemory:
        section.Limits();
        break;
      case ExternKind::kGlobal:
        section.ValType();
        section.U8();
        break;
      case ExternKind::kTag:
        section.U8();
        section.U32();
        break;
      default:
        section.Fail(fmt::format("unknown import kind {}", kind));
    }
    module.imports.push_back(std::move(import));
  }
  return section.error();
}

std::string ReadFunctions(Reader& section, WasmModule& module) {
  for (uint32_t n = section.U32(); n > 0 && section.ok(); --n) {
    module.function_types.push_back(section.U32());
  }
  return section.error();
}

std::string ReadExports(Reader& section, WasmModule& module) {
  for (uint32_t n = section.U32(); n > 0 && section.ok(); --n) {
    Export e;
    e.name = section.Name();
    e.kind = static_cast<ExternKind>(section.U8());
    e.index = section.U32();
    module.exports.push_back(std::move(e));
  }
  return section.error();
}

// The module, or an error message.
std::pair<WasmModule, std::string> ParseModule(std::span<const uint8_t> bytes) {
  WasmModule module;
  Reader reader(bytes, 0);
  constexpr std::array<uint8_t, 8> kHeader = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  for (uint8_t expected : kHeader) {
    if (reader.U8() != expected) return {{}, "not a WebAssembly core module (version 1)"};
  }
  while (!reader.at_end() && reader.ok()) {
    const uint8_t id = reader.U8();
    Reader section = reader.Sub(reader.U32());
    if (!reader.ok()) break;
    std::string error;
    switch (id) {
      case 1:
        error = ReadTypes(section, module);
        break;
      case 2:
        error = ReadImports(section, module);
        break;
      case 3:
        error = ReadFunctions(section, module);
        break;
      case 7:
        error = ReadExports(section, module);
        break;
      default:
        break;
    }
    if (!error.empty()) return {{}, error};
  }
  if (!reader.ok()) return {{}, reader.error()};
  for (uint32_t type : module.function_types) {
    if (type >= module.types.size()) return {{}, fmt::format("function type {} undefined", type)};
  }
  for (const Export& e : module.exports) {
    if (e.kind == ExternKind::kFunction && e.index >= module.function_types.size()) {
      return {{}, fmt::format("export '{}' names an undefined function", e.name)};
    }
  }
  return {std::move(module), ""};
}

// ---------------------------------------------------------------------------
// C and C++ spelling.

// isalnum in the C locale, which is the one wasm2c runs in.
bool IsAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// wasm2c 1.0.32's name mangling: "Z_", then the name with every byte other
// than an ASCII letter (but 'Z'), digit or '_' written as Z and two upper-case
// hex digits.
std::string Mangle(std::string_view name) {
  std::string out = "Z_";
  for (char c : name) {
    if ((IsAsciiAlnum(c) && c != 'Z') || c == '_') {
      out += c;
    } else {
      fmt::format_to(std::back_inserter(out), "Z{:02X}", static_cast<uint8_t>(c));
    }
  }
  return out;
}

// A C++ string literal for arbitrary bytes.
std::string Literal(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes) {
    const auto u = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\{:03o}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool IsNumeric(std::string_view letters) {
  return letters.find_first_not_of("iIfF") == std::string_view::npos;
}

// wasm2c's C type of a value, and its letter in multi-value struct names.
std::string_view CType(char letter) {
  switch (letter) {
    case 'i':
      return "u32";
    case 'I':
      return "u64";
    case 'f':
      return "f32";
    default:
      return "f64";
  }
}
char MultiLetter(char letter) {
  switch (letter) {
    case 'i':
      return 'i';
    case 'I':
      return 'j';
    case 'f':
      return 'f';
    default:
      return 'd';
  }
}

// wasm2c returns several results as `struct wasm_multi_<letters>`, whose
// fields are named <letter><index>.
std::string MultiStruct(std::string_view results) {
  std::string name = "struct wasm_multi_";
  for (char r : results) name += MultiLetter(r);
  return name;
}
std::string MultiField(std::string_view results, size_t i) {
  return fmt::format("{}{}", MultiLetter(results[i]), i);
}

std::string ReturnType(std::string_view results) {
  if (results.empty()) return "void";
  if (results.size() == 1) return std::string(CType(results[0]));
  return MultiStruct(results);
}

// The C++ expression for wasm value `value` of type `letter` as the int64_t
// Invoke carries (i32 sign-extended, floats as bits), and back.
std::string ToInt64(char letter, std::string_view value) {
  switch (letter) {
    case 'i':
      return fmt::format("static_cast<int32_t>({})", value);
    case 'I':
      return fmt::format("static_cast<int64_t>({})", value);
    case 'f':
      return fmt::format("static_cast<int64_t>(std::bit_cast<uint32_t>({}))", value);
    default:
      return fmt::format("std::bit_cast<int64_t>({})", value);
  }
}
std::string FromInt64(char letter, std::string_view value) {
  switch (letter) {
    case 'i':
      return fmt::format("static_cast<u32>({})", value);
    case 'I':
      return fmt::format("static_cast<u64>({})", value);
    case 'f':
      return fmt::format("std::bit_cast<f32>(static_cast<uint32_t>({}))", value);
    default:
      return fmt::format("std::bit_cast<f64>({})", value);
  }
}

std::string Signature(const FuncType& type) { return DescribeSignature(type.params, type.results); }

std::string_view KindName(ExternKind kind) {
  switch (kind) {
    case ExternKind::kTable:
      return "a table";
    case ExternKind::kMemory:
      return "a memory";
    case ExternKind::kGlobal:
      return "a global";
    case ExternKind::kTag:
      return "a tag";
    default:
      return "a function";
  }
}

// ---------------------------------------------------------------------------
// The glue.

struct Options {
  std::string module_name;
  std::string header;
  std::string wasm_path;
  std::string out_path;
};

bool IsIdentifier(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!IsAsciiAlnum(c) && c != '_') return false;
  }
  return true;
}

template <typename... Args>
void Emit(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

// One imported function. wasm2c names it after the imported module and
// field only, so every guest that imports it expects the same symbol: the
// definition is inline and the same in every glue file, and the linker keeps
// one copy. Nothing with a destructor lives in its frame when it traps.
void WriteImport(std::string& out, const Import& import, const FuncType& type) {
  const std::string module = Literal(import.module);
  const std::string name = Literal(import.name);
  Emit(out, "// import {} {}: {}\n", module, name, Signature(type));
  Emit(out, "extern \"C\" [[gnu::used]] inline {} {}{}(struct {}_instance_t* context",
       ReturnType(type.results), Mangle(import.module), Mangle(import.name), Mangle(import.module));
  for (size_t i = 0; i < type.params.size(); ++i) Emit(out, ", {} a{}", CType(type.params[i]), i);
  Emit(out,
       ") {{\n"
       "  static const ::wasikv::adapter::CoreImport* const import =\n"
       "      ::wasikv::adapter::FindImport({}, {});\n",
       module, name);
  if (type.params.empty()) {
    Emit(out, "  const uint64_t* const args = nullptr;\n");
  } else {
    std::vector<std::string> args;
    for (size_t i = 0; i < type.params.size(); ++i) {
      switch (type.params[i]) {
        case 'f':
          args.push_back(fmt::format("std::bit_cast<uint32_t>(a{})", i));
          break;
        case 'F':
          args.push_back(fmt::format("std::bit_cast<uint64_t>(a{})", i));
          break;
        default:
          args.push_back(fmt::format("a{}", i));
      }
    }
    Emit(out, "  const uint64_t args[] = {{{}}};\n", fmt::join(args, ", "));
  }
  if (type.results.empty()) {
    Emit(out, "  uint64_t* const results = nullptr;\n");
  } else {
    Emit(out, "  uint64_t results[{}] = {{}};\n", type.results.size());
  }
  Emit(out,
       "  if (!::wasikv::adapter::Wasm2cCallImport(context, import, {}, {}, args, results)) {{\n"
       "    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);\n"
       "  }}\n",
       module, name);
  auto result = [&](size_t i) {
    return FromInt64(type.results[i], fmt::format("static_cast<int64_t>(results[{}])", i));
  };
  if (type.results.size() == 1) {
    Emit(out, "  return {};\n", result(0));
  } else if (type.results.size() > 1) {
    Emit(out, "  {} multi;\n", MultiStruct(type.results));
    for (size_t i = 0; i < type.results.size(); ++i) {
      Emit(out, "  multi.{} = {};\n", MultiField(type.results, i), result(i));
    }
    Emit(out, "  return multi;\n");
  }
  Emit(out, "}}\n\n");
}

void WriteExportThunk(std::string& out, std::string_view prefix, size_t index, const Export& e,
                      const FuncType& type) {
  Emit(out, "// export {}: {}\n", Literal(e.name), Signature(type));
  Emit(out,
       "void Export{}(void* instance, [[maybe_unused]] const int64_t* args,\n"
       "             [[maybe_unused]] int64_t* results) {{\n",
       index);
  std::string call = fmt::format("{}{}(static_cast<Instance*>(instance)", prefix, Mangle(e.name));
  for (size_t i = 0; i < type.params.size(); ++i) {
    Emit(call, ", {}", FromInt64(type.params[i], fmt::format("args[{}]", i)));
  }
  call += ")";
  if (type.results.empty()) {
    Emit(out, "  {};\n", call);
  } else if (type.results.size() == 1) {
    Emit(out, "  results[0] = {};\n", ToInt64(type.results[0], call));
  } else {
    Emit(out, "  const {} multi = {};\n", MultiStruct(type.results), call);
    for (size_t i = 0; i < type.results.size(); ++i) {
      Emit(out, "  results[{}] = {};\n", i,
           ToInt64(type.results[i], fmt::format("multi.{}", MultiField(type.results, i))));
    }
  }
  Emit(out, "}}\n\n");
}

// The first of `names` that `module` exports as `kind`.
const Export* FindExport(const WasmModule& module, std::span<const std::string_view> names,
                         ExternKind kind) {
  for (std::string_view name : names) {
    for (const Export& e : module.exports) {
      if (e.name == name && e.kind == kind) return &e;
    }
  }
  return nullptr;
}

// The glue source, or the reasons there is none.
std::pair<std::string, std::vector<std::string>> Generate(const Options& options,
                                                          const WasmModule& module) {
  std::vector<std::string> errors;
  const std::string prefix = Mangle(options.module_name);

  // Imports: the adapter's functions only, with its signatures.
  std::vector<const Import*> functions;
  std::set<std::pair<std::string, std::string>> seen;
  // wasm2c's instantiate takes one argument per imported module, in byte
  // order of the module names.
  std::set<std::string> import_modules;
  for (const Import& import : module.imports) {
    const std::string where = fmt::format("import {}.{}", import.module, import.name);
    if (import.kind != ExternKind::kFunction) {
      errors.push_back(
          fmt::format("{} is {}; the wasm2c binding provides wasi:keyvalue functions only", where,
                      KindName(import.kind)));
      continue;
    }
    const FuncType& type = module.types[import.type_index];
    const CoreImport* core = FindImport(import.module, import.name);
    if (core == nullptr) {
      errors.push_back(
          IsAdapterModule(import.module)
              ? fmt::format("{}: the adapter's {} has no function '{}'", where, import.module,
                            import.name)
              : fmt::format("{}: not a wasi:keyvalue interface the adapter serves, and the wasm2c "
                            "binding provides nothing else",
                            where));
      continue;
    }
    if (type.params != core->params || type.results != core->results) {
      errors.push_back(fmt::format("{}: the guest imports it as {}, the adapter provides {}", where,
                                   Signature(type),
                                   DescribeSignature(core->params, core->results)));
      continue;
    }
    import_modules.insert(import.module);
    if (seen.emplace(import.module, import.name).second) functions.push_back(&import);
  }

  // Exports: the functions Invoke can call, memory, realloc, initialize.
  struct Callable {
    const Export* e;
    const FuncType* type;
  };
  std::vector<Callable> callables;
  for (const Export& e : module.exports) {
    if (e.kind != ExternKind::kFunction) continue;
    const FuncType& type = module.types[module.function_types[e.index]];
    if (!IsNumeric(type.params) || !IsNumeric(type.results)) {
      std::cerr << fmt::format(
          "wasikv-wasm2c-glue: note: export {} {} is left out: Invoke carries numbers only\n",
          e.name, Signature(type));
      continue;
    }
    callables.push_back({&e, &type});
  }
  const Export* memory = FindExport(module, kMemoryExports, ExternKind::kMemory);
  const Export* realloc = FindExport(module, kReallocExports, ExternKind::kFunction);
  const Export* initialize = FindExport(module, kInitializeExports, ExternKind::kFunction);
  auto check_type = [&](const Export* e, std::string_view params, std::string_view results) {
    if (e == nullptr) return;
    const FuncType& type = module.types[module.function_types[e->index]];
    if (type.params != params || type.results != results) {
      errors.push_back(fmt::format("export {} is {}; the adapter calls it as {}", e->name,
                                   Signature(type), DescribeSignature(params, results)));
    }
  };
  check_type(realloc, "iiii", "i");
  check_type(initialize, "", "");
  if (!errors.empty()) return {"", errors};

  std::string out;
  Emit(out,
       "// Generated by wasikv-wasm2c-glue for the wasm2c module {}. Do not edit.\n"
       "#include <bit>\n#include <cstdint>\n#include <span>\n\n"
       "#include \"wasikv/adapter/core_abi.h\"\n"
       "#include \"wasikv/adapter/wasm2c_guest.h\"\n"
       "#include {}\n\n",
       options.module_name, Literal(options.header));
  for (const Import* import : functions) {
    WriteImport(out, *import, module.types[import->type_index]);
  }

  Emit(out, "namespace {{\n\nusing Instance = {}_instance_t;\n\n", prefix);
  Emit(out, "void* Create() {{ return new Instance(); }}\n\n");
  Emit(out,
       "void Destroy(void* instance) {{\n"
       "  {}_free(static_cast<Instance*>(instance));\n"
       "  delete static_cast<Instance*>(instance);\n"
       "}}\n\n",
       prefix);
  Emit(out,
       "void Instantiate(void* instance, [[maybe_unused]] void* import_context) {{\n"
       "  static const bool initialized = ({}_init_module(), true);\n"
       "  static_cast<void>(initialized);\n"
       "  {}_instantiate(static_cast<Instance*>(instance)",
       prefix, prefix);
  for (const std::string& m : import_modules) {
    Emit(out, ",\n      static_cast<struct {}_instance_t*>(import_context)", Mangle(m));
  }
  Emit(out, ");\n}}\n\n");
  if (memory != nullptr) {
    Emit(out,
         "std::span<uint8_t> Memory(void* instance) {{\n"
         "  wasm_rt_memory_t* memory = {}{}(static_cast<Instance*>(instance));\n"
         "  return {{memory->data, memory->size}};\n"
         "}}\n\n",
         prefix, Mangle(memory->name));
  }
  std::string thunk_of_realloc = "nullptr";
  std::string thunk_of_initialize = "nullptr";
  for (size_t i = 0; i < callables.size(); ++i) {
    WriteExportThunk(out, prefix, i, *callables[i].e, *callables[i].type);
    if (callables[i].e == realloc) thunk_of_realloc = fmt::format("&Export{}", i);
    if (callables[i].e == initialize) thunk_of_initialize = fmt::format("&Export{}", i);
  }
  if (!callables.empty()) {
    Emit(out, "constexpr ::wasikv::adapter::Wasm2cExport kExports[] = {{\n");
    for (size_t i = 0; i < callables.size(); ++i) {
      Emit(out, "    {{{}, {}, {}, &Export{}}},\n", Literal(callables[i].e->name),
           Literal(callables[i].type->params), Literal(callables[i].type->results), i);
    }
    Emit(out, "}};\n\n");
  }
  Emit(out, "}}  // namespace\n\n");

  auto name_of = [](const Export* e) {
    return e == nullptr ? std::string("{}") : Literal(e->name);
  };
  const std::string descriptor = "kWasm2cModule_" + options.module_name;
  Emit(out, "extern const ::wasikv::adapter::Wasm2cModule {};\n", descriptor);
  Emit(out, "const ::wasikv::adapter::Wasm2cModule {} = {{\n", descriptor);
  Emit(out, "    .name = {},\n", Literal(options.module_name));
  Emit(out, "    .create = &Create,\n    .destroy = &Destroy,\n    .instantiate = &Instantiate,\n");
  Emit(out, "    .memory = {},\n", memory == nullptr ? "nullptr" : "&Memory");
  Emit(out, "    .memory_export = {},\n", name_of(memory));
  Emit(out, "    .realloc = {},\n", thunk_of_realloc);
  Emit(out, "    .realloc_export = {},\n", name_of(realloc));
  Emit(out, "    .initialize = {},\n", thunk_of_initialize);
  Emit(out, "    .initialize_export = {},\n", name_of(initialize));
  Emit(out, "    .exports = {},\n}};\n", callables.empty() ? "{}" : "kExports");
  return {out, {}};
}

int Usage() {
  std::cerr << "usage: wasikv-wasm2c-glue --module-name NAME [--wasm2c-header NAME.h] "
               "GUEST.wasm OUT.cc\n";
  return 2;
}

int Main(int argc, char** argv) {
  Options options;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "--module-name" || arg == "-n") && i + 1 < argc) {
      options.module_name = argv[++i];
    } else if (arg == "--wasm2c-header" && i + 1 < argc) {
      options.header = argv[++i];
    } else if (arg.starts_with("-")) {
      return Usage();
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.size() != 2 || options.module_name.empty()) return Usage();
  if (!IsIdentifier(options.module_name)) {
    std::cerr << "wasikv-wasm2c-glue: module name '" << options.module_name
              << "' must be a C identifier (it names kWasm2cModule_<NAME>)\n";
    return 2;
  }
  options.wasm_path = positional[0];
  options.out_path = positional[1];
  if (options.header.empty()) options.header = options.module_name + ".h";

  std::ifstream in(options.wasm_path, std::ios::binary);
  if (!in) {
    std::cerr << "wasikv-wasm2c-glue: cannot read " << options.wasm_path << "\n";
    return 1;
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  auto [module, parse_error] = ParseModule(bytes);
  if (!parse_error.empty()) {
    std::cerr << "wasikv-wasm2c-glue: " << options.wasm_path << ": " << parse_error << "\n";
    return 1;
  }
  auto [glue, errors] = Generate(options, module);
  if (!errors.empty()) {
    for (const std::string& error : errors) {
      std::cerr << "wasikv-wasm2c-glue: " << options.wasm_path << ": " << error << "\n";
    }
    return 1;
  }
  std::ofstream out(options.out_path, std::ios::binary | std::ios::trunc);
  out << glue;
  out.close();
  if (!out) {
    std::cerr << "wasikv-wasm2c-glue: cannot write " << options.out_path << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace wasikv::adapter

int main(int argc, char** argv) { return wasikv::adapter::Main(argc, argv); }
