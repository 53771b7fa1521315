/*
 * Compile SPIR-V compute modules into pipelines on whatever Vulkan device the loader offers
 * first, and print the driver's compile statistics of each (VK_KHR_pipeline_executable_
 * properties): registers, spills, scratch, occupancy, whatever the driver reports. Nothing is
 * dispatched, so a driver without its hardware will do: Mesa's RADV compiles for any AMD GPU
 * it knows with RADV_FORCE_FAMILY=<family> (a "null hardware" device), which gives a real
 * GPU compiler's view (AMD's ACO) of the kernels on a machine without a GPU.
 * tools/spirv_audit.ts builds this with cc and runs it on the modules it dumped.
 *
 * Usage: pipeline_stats [--ir SUFFIX] < jobs
 *   Each line of standard input is one module: "<file.spv> <entry point> [set:binding:type]..."
 *   (type: the VkDescriptorType value, e.g. 7 for a storage buffer), which the caller reads
 *   from the module's own decorations. Standard output: a "device<TAB>name" line, then per
 *   module "== <file.spv>" and a "name<TAB>value" line per statistic of its first
 *   executable, or one "error<TAB>why" line. With --ir, the driver's text representations of
 *   each pipeline (RADV: NIR, ACO IR, the assembly) are written to <file.spv>.SUFFIX.txt,
 *   each after a "== name" line.
 * Exit 0 when the device was created (a module may still fail, named in its block); 1 when
 * there is no Vulkan loader, no device, or the device lacks the extension, with the reason
 * on standard error.
 *
 * The Vulkan loader is opened with dlopen (libvulkan.so.1, the library wgpu itself opens), so
 * no Vulkan header or -lvulkan is needed: the structures used are declared in vk_min.h.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_min.h"

#define MAX_LINE 8192
#define MAX_SETS 4
#define MAX_BINDINGS 32

typedef pfn_void (*pfn_get_instance_proc)(void *, const char *);
typedef int32_t (*pfn_create_instance)(const instance_create_info *, const void *, void **);
typedef int32_t (*pfn_enumerate_physical_devices)(void *, uint32_t *, void **);
typedef void (*pfn_get_physical_device_properties)(void *, void *);
typedef int32_t (*pfn_create_device_plain)(void *, const device_create_info *, const void *,
                                           void **);
typedef pfn_void (*pfn_get_device_proc)(void *, const char *);
typedef int32_t (*pfn_create_module)(void *, const shader_module_create_info *, const void *,
                                     uint64_t *);
typedef int32_t (*pfn_create_set_layout)(void *, const descriptor_set_layout_create_info *,
                                         const void *, uint64_t *);
typedef int32_t (*pfn_create_pipeline_layout)(void *, const pipeline_layout_create_info *,
                                              const void *, uint64_t *);
typedef void (*pfn_destroy)(void *, uint64_t, const void *);

static pfn_get_device_proc device_proc;
static void *device;
static const char *ir_suffix; /* --ir: where the text representations go, else NULL */

static void *device_fn(const char *name) {
  void *f = (void *)device_proc(device, name);
  if (!f) {
    fprintf(stderr, "pipeline_stats: the device has no %s\n", name);
    exit(1);
  }
  return f;
}

/* The whole file at `path`, or NULL; its size in *size. */
static uint32_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint32_t *code = n > 0 ? malloc((size_t)n) : NULL;
  if (code && fread(code, 1, (size_t)n, f) != (size_t)n) {
    free(code);
    code = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return code;
}

static void print_statistic(const executable_statistic *s) {
  printf("%s\t", s->name);
  switch (s->format) {
  case 0: printf("%s\n", s->value.b32 ? "true" : "false"); break;
  case 1: printf("%lld\n", (long long)s->value.i64); break;
  case 2: printf("%llu\n", (unsigned long long)s->value.u64); break;
  default: printf("%.17g\n", s->value.f64); break;
  }
}

/* Write the pipeline's text representations to <path>.<ir_suffix>.txt. */
static void write_representations(const executable_info *which, const char *path) {
  char out[4096];
  snprintf(out, sizeof out, "%s.%s.txt", path, ir_suffix);
  write_text_representations(
      device_fn("vkGetPipelineExecutableInternalRepresentationsKHR"), device, which, out, "w");
}

/* Compile one job line's module and print its block. */
static void compile(char *line) {
  char *save = NULL;
  char *path = strtok_r(line, " \t\n", &save);
  char *entry = strtok_r(NULL, " \t\n", &save);
  if (!path) return;
  printf("== %s\n", path);
  if (!entry) {
    printf("error\tno entry point named on the job line\n");
    return;
  }
  descriptor_set_layout_binding bindings[MAX_SETS][MAX_BINDINGS];
  uint32_t counts[MAX_SETS] = {0};
  uint32_t sets = 0;
  for (char *b = strtok_r(NULL, " \t\n", &save); b; b = strtok_r(NULL, " \t\n", &save)) {
    unsigned set, binding;
    int type;
    if (sscanf(b, "%u:%u:%d", &set, &binding, &type) != 3 || set >= MAX_SETS ||
        counts[set] >= MAX_BINDINGS) {
      printf("error\tbad binding \"%s\" (set:binding:type, set < %d)\n", b, MAX_SETS);
      return;
    }
    descriptor_set_layout_binding *x = &bindings[set][counts[set]++];
    memset(x, 0, sizeof *x);
    x->binding = binding;
    x->descriptor_type = type;
    x->descriptor_count = 1;
    x->stage_flags = STAGE_COMPUTE;
    if (set + 1 > sets) sets = set + 1;
  }
  size_t size = 0;
  uint32_t *code = read_file(path, &size);
  if (!code || size % 4 != 0) {
    printf("error\tcannot read %s as whole 4-byte words\n", path);
    free(code);
    return;
  }
  pfn_create_module create_module = device_fn("vkCreateShaderModule");
  pfn_create_set_layout create_set_layout = device_fn("vkCreateDescriptorSetLayout");
  pfn_create_pipeline_layout create_pipeline_layout = device_fn("vkCreatePipelineLayout");
  pfn_create_compute_pipelines create_pipelines = device_fn("vkCreateComputePipelines");
  pfn_get_executable_statistics get_statistics =
      device_fn("vkGetPipelineExecutableStatisticsKHR");
  pfn_destroy destroy_module = device_fn("vkDestroyShaderModule");
  pfn_destroy destroy_set_layout = device_fn("vkDestroyDescriptorSetLayout");
  pfn_destroy destroy_pipeline_layout = device_fn("vkDestroyPipelineLayout");
  pfn_destroy destroy_pipeline = device_fn("vkDestroyPipeline");

  shader_module_create_info module_info = {STYPE_SHADER_MODULE_CREATE_INFO, NULL, 0, size, code};
  uint64_t module = 0;
  int32_t r = create_module(device, &module_info, NULL, &module);
  free(code);
  if (r != 0) {
    printf("error\tvkCreateShaderModule: VkResult %d\n", r);
    return;
  }
  /* Sets below the highest used get a layout even when empty (a pipeline layout has no gaps). */
  uint64_t set_layouts[MAX_SETS] = {0};
  for (uint32_t s = 0; s < sets; s++) {
    descriptor_set_layout_create_info info = {STYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, NULL, 0,
                                              counts[s], bindings[s]};
    r = create_set_layout(device, &info, NULL, &set_layouts[s]);
    if (r != 0) {
      printf("error\tvkCreateDescriptorSetLayout (set %u): VkResult %d\n", s, r);
      return;
    }
  }
  pipeline_layout_create_info layout_info = {STYPE_PIPELINE_LAYOUT_CREATE_INFO, NULL, 0, sets,
                                             set_layouts, 0, NULL};
  uint64_t layout = 0;
  r = create_pipeline_layout(device, &layout_info, NULL, &layout);
  if (r != 0) {
    printf("error\tvkCreatePipelineLayout: VkResult %d\n", r);
    return;
  }
  compute_pipeline_create_info pipeline_info_ = {
      STYPE_COMPUTE_PIPELINE_CREATE_INFO, NULL,
      PIPELINE_CREATE_CAPTURE_STATISTICS |
          (ir_suffix ? PIPELINE_CREATE_CAPTURE_INTERNAL_REPRESENTATIONS : 0u),
      {STYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, NULL, 0, STAGE_COMPUTE, module, entry, NULL},
      layout, 0, -1};
  uint64_t pipeline = 0;
  r = create_pipelines(device, 0, 1, &pipeline_info_, NULL, &pipeline);
  if (r != 0) {
    printf("error\tvkCreateComputePipelines: VkResult %d\n", r);
  } else {
    executable_info which = {STYPE_EXECUTABLE_INFO, NULL, pipeline, 0};
    executable_statistic stats[MAX_STATS];
    memset(stats, 0, sizeof stats);
    for (int i = 0; i < MAX_STATS; i++) stats[i].s_type = STYPE_EXECUTABLE_STATISTIC;
    uint32_t n = MAX_STATS;
    r = get_statistics(device, &which, &n, stats);
    if (r < 0) printf("error\tvkGetPipelineExecutableStatisticsKHR: VkResult %d\n", r);
    for (uint32_t i = 0; r >= 0 && i < n; i++) print_statistic(&stats[i]);
    if (ir_suffix) write_representations(&which, path);
    destroy_pipeline(device, pipeline, NULL);
  }
  destroy_pipeline_layout(device, layout, NULL);
  for (uint32_t s = 0; s < sets; s++) destroy_set_layout(device, set_layouts[s], NULL);
  destroy_module(device, module, NULL);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--ir") == 0 && !strpbrk(argv[2], "/ ")) {
    ir_suffix = argv[2];
  } else if (argc != 1) {
    fprintf(stderr, "usage: pipeline_stats [--ir SUFFIX] < jobs (see the file's comment)\n");
    return 2;
  }
  void *loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!loader) {
    fprintf(stderr, "pipeline_stats: no Vulkan loader (libvulkan.so.1): %s\n", dlerror());
    return 1;
  }
  pfn_get_instance_proc instance_proc =
      (pfn_get_instance_proc)dlsym(loader, "vkGetInstanceProcAddr");
  if (!instance_proc) {
    fprintf(stderr, "pipeline_stats: libvulkan.so.1 has no vkGetInstanceProcAddr\n");
    return 1;
  }
  application_info app = {STYPE_APPLICATION_INFO, NULL, "pipeline_stats", 1, NULL, 0,
                          API_VERSION_1_1};
  instance_create_info instance_info = {STYPE_INSTANCE_CREATE_INFO, NULL, 0, &app, 0, NULL, 0,
                                        NULL};
  void *instance = NULL;
  pfn_create_instance create_instance =
      (pfn_create_instance)instance_proc(NULL, "vkCreateInstance");
  int32_t r = create_instance ? create_instance(&instance_info, NULL, &instance) : -3;
  if (r != 0) {
    fprintf(stderr, "pipeline_stats: vkCreateInstance: VkResult %d (no driver?)\n", r);
    return 1;
  }
  pfn_enumerate_physical_devices enumerate =
      (pfn_enumerate_physical_devices)instance_proc(instance, "vkEnumeratePhysicalDevices");
  void *physical = NULL;
  uint32_t n = 1;
  r = enumerate(instance, &n, &physical);
  if ((r != 0 && r != 5 /* VK_INCOMPLETE */) || n == 0) {
    fprintf(stderr, "pipeline_stats: no Vulkan device (VkResult %d, %u devices)\n", r, n);
    return 1;
  }
  /* VkPhysicalDeviceProperties: five 32-bit fields, then deviceName[256]. */
  char properties[4096];
  memset(properties, 0, sizeof properties);
  ((pfn_get_physical_device_properties)instance_proc(instance, "vkGetPhysicalDeviceProperties"))(
      physical, properties);
  printf("device\t%s\n", properties + 20);

  pfn_enumerate_device_extensions extensions = (pfn_enumerate_device_extensions)instance_proc(
      instance, "vkEnumerateDeviceExtensionProperties");
  uint32_t count = 0;
  extensions(physical, NULL, &count, NULL);
  extension_properties *list = calloc(count ? count : 1, sizeof *list);
  int has = 0;
  if (list && extensions(physical, NULL, &count, list) >= 0) {
    for (uint32_t i = 0; i < count; i++) has |= strcmp(list[i].extension_name, EXECUTABLE_EXTENSION) == 0;
  }
  free(list);
  if (!has) {
    fprintf(stderr, "pipeline_stats: %s has no " EXECUTABLE_EXTENSION " (no statistics)\n",
            properties + 20);
    return 1;
  }
  float priority = 1.0f;
  device_queue_create_info queue = {STYPE_DEVICE_QUEUE_CREATE_INFO, NULL, 0, 0, 1, &priority};
  const char *names[] = {EXECUTABLE_EXTENSION};
  executable_features features = {STYPE_EXECUTABLE_FEATURES, NULL, 1};
  device_create_info device_info = {STYPE_DEVICE_CREATE_INFO, &features, 0, 1, &queue, 0, NULL, 1,
                                    names, NULL};
  r = ((pfn_create_device_plain)instance_proc(instance, "vkCreateDevice"))(physical, &device_info,
                                                                          NULL, &device);
  if (r != 0) {
    fprintf(stderr, "pipeline_stats: vkCreateDevice: VkResult %d\n", r);
    return 1;
  }
  device_proc = (pfn_get_device_proc)instance_proc(instance, "vkGetDeviceProcAddr");
  char line[MAX_LINE];
  while (fgets(line, sizeof line, stdin)) compile(line);
  return 0;
}
