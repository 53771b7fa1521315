/**
 * A reader of SPIR-V binaries for what decides whether a GPU keeps a kernel's private arrays
 * in registers: its loops, the loop bounds wgpu adds to them, its function-scope arrays and
 * the accesses into those arrays whose index is not a constant (a driver must then place the
 * array in memory it can index, unless it unrolls the loop itself). `tools/spirv_audit.ts`
 * reads with it the modules wgpu hands to the Vulkan driver.
 *
 * Only the instructions named below are read; every other instruction is skipped by its word
 * count (SPIR-V 1.0-1.6, section 2.3 of the specification: a 5-word header, then each
 * instruction's first word holds its word count in the high 16 bits and its opcode in the
 * low 16).
 *
 * @module
 */

/** What one SPIR-V module holds, as counted by {@link auditSpirv}. */
export interface SpirvAudit {
  /** Entry point names (OpEntryPoint), in order. */
  entryPoints: string[];
  /** LocalSize of the first entry point with one (OpExecutionMode), else null. */
  workgroupSize: [number, number, number] | null;
  /** Structured loops (OpLoopMerge). */
  loops: number;
  /**
   * Loops carrying wgpu's bound: a function-scope `vec2<u32>` counter that starts at
   * (0xffffffff, 0xffffffff) (naga's `force_loop_bounding`, on by default since wgpu 25),
   * counted by its variables; naga declares one per loop.
   */
  boundedLoops: number;
  /** Function-scope variables of array type (a kernel's register arrays as written). */
  privateArrays: number;
  /**
   * 32-bit words of the function-scope arrays the entry point's own function declares (not
   * its helpers', whose arrays are copies a driver merges when it inlines them): the register
   * arrays one invocation holds, as written. A GPU allots a thread a few hundred registers at
   * most (NVIDIA: 255), beside everything else the kernel keeps live.
   */
  entryArrayWords: number;
  /**
   * Access chains into a function-scope array (or into anything inside one) with at least one
   * index that is not a constant once integer arithmetic on constants is folded (naga writes
   * `i * 4u + h` of two constants as instructions, and clamps indices with `UMin`; any driver
   * folds those, as this count does).
   */
  dynamicPrivateAccesses: number;
  /** Workgroup-storage variables. */
  workgroupVariables: number;
  /**
   * The resources the module binds (its OpVariables with DescriptorSet and Binding
   * decorations), in declaration order, each with its Vulkan descriptor type: what a pipeline
   * layout for the module must declare (`tools/spirv_audit.ts` compiles dumped modules on
   * another driver with it).
   */
  bindings: SpirvBinding[];
}

/** One resource binding of a module, as a Vulkan pipeline layout declares it. */
export interface SpirvBinding {
  set: number;
  binding: number;
  /**
   * VkDescriptorType: 0 sampler, 1 combined image sampler, 2 sampled image, 3 storage image,
   * 4 uniform texel buffer, 5 storage texel buffer, 6 uniform buffer, 7 storage buffer.
   */
  type: number;
}

const OP = {
  EntryPoint: 15,
  ExecutionMode: 16,
  TypeInt: 21,
  TypeFloat: 22,
  TypeVector: 23,
  TypeMatrix: 24,
  TypeArray: 28,
  TypeStruct: 30,
  TypePointer: 32,
  Constant: 43,
  ConstantComposite: 44,
  SpecConstant: 50,
  Variable: 59,
  AccessChain: 65,
  InBoundsAccessChain: 66,
  PtrAccessChain: 67,
  ExtInst: 12,
  TypeBool: 20,
  Function: 54,
  FunctionEnd: 56,
  CopyObject: 83,
  IAdd: 128,
  ISub: 130,
  IMul: 132,
  UDiv: 134,
  UMod: 137,
  ShiftRightLogical: 194,
  ShiftLeftLogical: 196,
  BitwiseOr: 197,
  BitwiseAnd: 199,
  LoopMerge: 246,
  Decorate: 71,
  TypeImage: 25,
  TypeSampler: 26,
  TypeSampledImage: 27,
  TypeRuntimeArray: 29,
} as const;
/** GLSL.std.450's UMin and UMax (the extended instructions naga clamps indices with). */
const GLSL_UMIN = 38;
const GLSL_UMAX = 41;

/** u32 arithmetic of a folded binary instruction, or undefined for an opcode not folded. */
function foldBinary(op: number, a: number, b: number): number | undefined {
  switch (op) {
    case OP.IAdd:
      return (a + b) >>> 0;
    case OP.ISub:
      return (a - b) >>> 0;
    case OP.IMul:
      return Math.imul(a, b) >>> 0;
    case OP.UDiv:
      return b === 0 ? undefined : Math.floor(a / b) >>> 0;
    case OP.UMod:
      return b === 0 ? undefined : (a % b) >>> 0;
    case OP.ShiftRightLogical:
      return b >= 32 ? undefined : a >>> b;
    case OP.ShiftLeftLogical:
      return b >= 32 ? undefined : (a << b) >>> 0;
    case OP.BitwiseOr:
      return (a | b) >>> 0;
    case OP.BitwiseAnd:
      return (a & b) >>> 0;
  }
  return undefined;
}
const STORAGE_FUNCTION = 7;
const STORAGE_WORKGROUP = 4;
const STORAGE_UNIFORM_CONSTANT = 0;
const STORAGE_UNIFORM = 2;
const STORAGE_STORAGE_BUFFER = 12;
const DECORATION_BUFFER_BLOCK = 3;
const DECORATION_BINDING = 33;
const DECORATION_DESCRIPTOR_SET = 34;
const DIM_BUFFER = 5;
const EXECUTION_MODE_LOCAL_SIZE = 17;
const MAGIC = 0x07230203;

/** A SPIR-V literal string: UTF-8 bytes, NUL-terminated, packed little-endian into words. */
function literalString(words: Uint32Array, start: number, end: number): string {
  const bytes: number[] = [];
  for (let i = start; i < end; i++) {
    for (let b = 0; b < 4; b++) {
      const c = (words[i] >>> (8 * b)) & 0xff;
      if (c === 0) return new TextDecoder().decode(new Uint8Array(bytes));
      bytes.push(c);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * Count a SPIR-V module's loops, wgpu's loop bounds, its function-scope arrays and the
 * accesses into them with a non-constant index. Throws, naming what is wrong, when `binary`
 * is not a SPIR-V module (bad magic, a length that is not whole words, an instruction that
 * runs past the end).
 *
 * @example
 * ```ts
 * import { auditSpirv } from "./spirv.ts";
 * declare const spv: Uint8Array; // a kernel's SPIR-V (tools/spirv_audit.ts --keep writes them)
 * const audit = auditSpirv(spv);
 * console.log(audit.loops, audit.dynamicPrivateAccesses);
 * ```
 */
export function auditSpirv(binary: Uint8Array): SpirvAudit {
  if (binary.byteLength % 4 !== 0 || binary.byteLength < 20) {
    throw new Error(
      `not a SPIR-V module: ${binary.byteLength} bytes (a module is a 5-word header and ` +
        "instructions, whole 4-byte words)",
    );
  }
  const words = new Uint32Array(
    binary.buffer.slice(binary.byteOffset, binary.byteOffset + binary.byteLength),
  );
  if (words[0] !== MAGIC) {
    throw new Error(
      `not a SPIR-V module: magic 0x${words[0].toString(16)} (expected 0x07230203, little-endian)`,
    );
  }
  const audit: SpirvAudit = {
    entryPoints: [],
    workgroupSize: null,
    loops: 0,
    boundedLoops: 0,
    privateArrays: 0,
    entryArrayWords: 0,
    dynamicPrivateAccesses: 0,
    workgroupVariables: 0,
    bindings: [],
  };
  // Resource variables and what their types say of the descriptor each needs.
  const decorations = new Map<number, Map<number, number>>(); // id -> decoration -> value
  const descriptorOf = new Map<number, number>(); // type id -> VkDescriptorType
  const resources: { id: number; storage: number; pointee: number }[] = [];
  const constants = new Map<number, number>(); // id -> first value word
  const composites = new Map<number, number[]>(); // id -> constituents
  const arrayTypes = new Map<number, { elem: number; lengthId: number }>();
  const vec2u32 = new Set<number>();
  const uintTypes = new Set<number>();
  const pointers = new Map<number, { storage: number; pointee: number }>();
  const privateRooted = new Set<number>();
  const bits = new Map<number, number>(); // scalar, vector, matrix and struct types' sizes
  const typeBits = (type: number): number => {
    const a = arrayTypes.get(type);
    if (a) return (constants.get(a.lengthId) ?? 0) * typeBits(a.elem);
    return bits.get(type) ?? 32;
  };
  const entryFunctions = new Set<number>();
  let inEntry = false;
  for (let at = 5; at < words.length;) {
    const count = words[at] >>> 16;
    const op = words[at] & 0xffff;
    if (count === 0 || at + count > words.length) {
      throw new Error(
        `not a SPIR-V module: the instruction at word ${at} (opcode ${op}) claims ${count} ` +
          `words, past the module's ${words.length}`,
      );
    }
    const w = (i: number) => words[at + i];
    switch (op) {
      case OP.EntryPoint:
        audit.entryPoints.push(literalString(words, at + 3, at + count));
        entryFunctions.add(w(2));
        break;
      case OP.TypeFloat:
        bits.set(w(1), w(2));
        break;
      case OP.TypeBool:
        bits.set(w(1), 32);
        break;
      case OP.TypeMatrix:
        bits.set(w(1), w(3) * typeBits(w(2)));
        break;
      case OP.TypeStruct: {
        let total = 0;
        for (let i = 2; i < count; i++) total += typeBits(w(i));
        bits.set(w(1), total);
        break;
      }
      case OP.Function:
        inEntry = entryFunctions.has(w(2));
        break;
      case OP.FunctionEnd:
        inEntry = false;
        break;
      case OP.ExecutionMode:
        if (w(2) === EXECUTION_MODE_LOCAL_SIZE && audit.workgroupSize === null) {
          audit.workgroupSize = [w(3), w(4), w(5)];
        }
        break;
      case OP.TypeInt:
        bits.set(w(1), w(2));
        if (w(2) === 32 && w(3) === 0) uintTypes.add(w(1));
        break;
      case OP.TypeVector:
        bits.set(w(1), w(3) * typeBits(w(2)));
        if (uintTypes.has(w(2)) && w(3) === 2) vec2u32.add(w(1));
        break;
      case OP.TypeArray:
        arrayTypes.set(w(1), { elem: w(2), lengthId: w(3) });
        // A binding array declares its element's descriptor type.
        if (descriptorOf.has(w(2))) descriptorOf.set(w(1), descriptorOf.get(w(2))!);
        break;
      case OP.TypeRuntimeArray:
        if (descriptorOf.has(w(2))) descriptorOf.set(w(1), descriptorOf.get(w(2))!);
        break;
      case OP.Decorate: {
        const of = decorations.get(w(1)) ?? new Map<number, number>();
        of.set(w(2), count > 3 ? w(3) : 1);
        decorations.set(w(1), of);
        break;
      }
      case OP.TypeImage: {
        // OpTypeImage result, sampled type, Dim, Depth, Arrayed, MS, Sampled (1: with a
        // sampler, 2: storage), format.
        const storage = w(7) === 2;
        descriptorOf.set(w(1), w(3) === DIM_BUFFER ? (storage ? 5 : 4) : (storage ? 3 : 2));
        break;
      }
      case OP.TypeSampler:
        descriptorOf.set(w(1), 0);
        break;
      case OP.TypeSampledImage:
        descriptorOf.set(w(1), 1);
        break;
      case OP.TypePointer:
        pointers.set(w(1), { storage: w(2), pointee: w(3) });
        break;
      case OP.Constant:
      case OP.SpecConstant:
        constants.set(w(2), w(3));
        break;
      case OP.ConstantComposite: {
        const parts: number[] = [];
        for (let i = 3; i < count; i++) parts.push(w(i));
        composites.set(w(2), parts);
        break;
      }
      case OP.Variable: {
        const ptr = pointers.get(w(1));
        const storage = w(3);
        if (storage === STORAGE_WORKGROUP) audit.workgroupVariables++;
        if (
          ptr &&
          [STORAGE_UNIFORM_CONSTANT, STORAGE_UNIFORM, STORAGE_STORAGE_BUFFER].includes(storage)
        ) {
          resources.push({ id: w(2), storage, pointee: ptr.pointee });
        }
        if (storage !== STORAGE_FUNCTION || !ptr) break;
        if (arrayTypes.has(ptr.pointee)) {
          audit.privateArrays++;
          if (inEntry) audit.entryArrayWords += Math.ceil(typeBits(ptr.pointee) / 32);
          privateRooted.add(w(2));
        }
        if (vec2u32.has(ptr.pointee) && count > 4) {
          const init = composites.get(w(4));
          if (init && init.every((id) => constants.get(id) === 0xffffffff)) audit.boundedLoops++;
        }
        break;
      }
      case OP.AccessChain:
      case OP.InBoundsAccessChain:
      case OP.PtrAccessChain: {
        const base = w(3);
        if (!privateRooted.has(base)) break;
        privateRooted.add(w(2));
        for (let i = 4; i < count; i++) {
          if (!constants.has(w(i))) {
            audit.dynamicPrivateAccesses++;
            break;
          }
        }
        break;
      }
      case OP.LoopMerge:
        audit.loops++;
        break;
      case OP.CopyObject:
        if (constants.has(w(3))) constants.set(w(2), constants.get(w(3))!);
        break;
      case OP.ExtInst: {
        // OpExtInst type result set instruction operands...: UMin / UMax of two constants.
        const [a, b] = [constants.get(w(5)), constants.get(w(6))];
        if (
          (w(4) === GLSL_UMIN || w(4) === GLSL_UMAX) && count === 7 && a !== undefined &&
          b !== undefined
        ) {
          constants.set(w(2), w(4) === GLSL_UMIN ? Math.min(a, b) : Math.max(a, b));
        }
        break;
      }
      default: {
        if (count !== 5) break;
        const [a, b] = [constants.get(w(3)), constants.get(w(4))];
        if (a === undefined || b === undefined) break;
        const v = foldBinary(op, a, b);
        if (v !== undefined) constants.set(w(2), v);
      }
    }
    at += count;
  }
  for (const r of resources) {
    const d = decorations.get(r.id);
    const set = d?.get(DECORATION_DESCRIPTOR_SET);
    const binding = d?.get(DECORATION_BINDING);
    if (set === undefined || binding === undefined) continue;
    // A Uniform-class block decorated BufferBlock is SPIR-V 1.0's storage buffer.
    const type = r.storage === STORAGE_STORAGE_BUFFER
      ? 7
      : r.storage === STORAGE_UNIFORM
      ? (decorations.get(r.pointee)?.has(DECORATION_BUFFER_BLOCK) ? 7 : 6)
      : descriptorOf.get(r.pointee);
    if (type !== undefined) audit.bindings.push({ set, binding, type });
  }
  return audit;
}
