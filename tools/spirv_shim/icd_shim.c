/*
 * A Vulkan ICD that forwards everything to another ICD (a real driver) and writes every
 * SPIR-V module passed to vkCreateShaderModule to a file, so that tools/spirv_audit.ts can
 * read the code wgpu (naga) hands to the driver. Deno exposes no such dump, and a release
 * build of Mesa writes none.
 *
 * The Vulkan loader loads it like any driver, from an ICD manifest (VK_ICD_FILENAMES) that
 * tools/spirv_audit.ts writes next to the built library. It reads two environment
 * variables:
 *   SPIRV_SHIM_DRIVER  the real driver's library (e.g. Mesa lavapipe's libvulkan_lvp.so);
 *   SPIRV_SHIM_DIR     the directory the modules are written to, as 0000.spv, 0001.spv, ...
 *   SPIRV_SHIM_STATS   when set (to anything) and the driver has VK_KHR_pipeline_executable_
 *                      properties: the shim enables it on every device, asks each compute
 *                      pipeline for its compile statistics (the driver's own: register count,
 *                      spills, instruction count, whatever it reports) and writes them next to
 *                      the pipeline's module, as 0000.stats (one "name<TAB>value" line each),
 *                      and the text internal representations it offers (compiled code, where a
 *                      driver gives it) as 0000.ir.
 *
 * Interface: the loader-ICD interface (LoaderDriverInterface.md of Khronos' Vulkan-Loader):
 * the three vk_icd* entry points are forwarded; device functions reach the driver through
 * vkGetDeviceProcAddr, which the shim wraps so that vkCreateShaderModule is its own. No
 * Vulkan header is needed: the structures it reads are declared in vk_min.h.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_min.h"

typedef pfn_void (*pfn_proc_addr)(void *, const char *);
typedef int32_t (*pfn_negotiate)(uint32_t *);

#define MAX_MODULES 4096

static void *driver;
static pfn_proc_addr driver_instance_proc;
static pfn_proc_addr driver_physical_device_proc;
static pfn_negotiate driver_negotiate;
static pfn_proc_addr driver_device_proc;
static pfn_create_shader_module driver_create_shader_module;
static unsigned dumped;
static pfn_create_device driver_create_device;
static pfn_enumerate_device_extensions driver_enumerate_device_extensions;
static pfn_create_compute_pipelines driver_create_compute_pipelines;
static pfn_get_executable_properties driver_get_executable_properties;
static pfn_get_executable_statistics driver_get_executable_statistics;
static pfn_get_internal_representations driver_get_internal_representations;
static int statistics_enabled;
/* Module handle -> dump index, so a pipeline's statistics are named after its module. */
static uint64_t module_handles[MAX_MODULES];

static int load_driver(void) {
  if (driver) return 1;
  const char *path = getenv("SPIRV_SHIM_DRIVER");
  if (!path) {
    fprintf(stderr, "spirv shim: SPIRV_SHIM_DRIVER (the real driver's library) is not set\n");
    return 0;
  }
  driver = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    fprintf(stderr, "spirv shim: cannot load %s: %s\n", path, dlerror());
    return 0;
  }
  driver_instance_proc = (pfn_proc_addr)dlsym(driver, "vk_icdGetInstanceProcAddr");
  driver_physical_device_proc = (pfn_proc_addr)dlsym(driver, "vk_icdGetPhysicalDeviceProcAddr");
  driver_negotiate = (pfn_negotiate)dlsym(driver, "vk_icdNegotiateLoaderICDInterfaceVersion");
  return driver_instance_proc != NULL;
}

static int32_t shim_create_shader_module(void *device, const shader_module_create_info *info,
                                         const void *allocator, void *module) {
  const char *dir = getenv("SPIRV_SHIM_DIR");
  unsigned index = dumped;
  if (dir && info && info->p_code) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%04u.spv", dir, dumped++);
    FILE *f = fopen(path, "wb");
    if (f) {
      fwrite(info->p_code, 1, info->code_size, f);
      fclose(f);
    } else {
      fprintf(stderr, "spirv shim: cannot write %s\n", path);
    }
  }
  int32_t result = driver_create_shader_module(device, info, allocator, module);
  if (result == 0 && dir && index < MAX_MODULES) module_handles[index] = *(uint64_t *)module;
  return result;
}

/* The dump index of a module handle, or -1. */
static int module_index(uint64_t handle) {
  for (unsigned i = 0; i < dumped && i < MAX_MODULES; i++) {
    if (module_handles[i] == handle) return (int)i;
  }
  return -1;
}

/* Append an executable's text internal representations to <dir>/<module index>.ir. */
static void write_representations(void *device, const executable_info *which, const char *dir,
                                  int index) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%04d.ir", dir, index);
  write_text_representations(driver_get_internal_representations, device, which, path, "a");
}

/* Write a pipeline's statistics (every executable's) to <dir>/<module index>.stats. */
static void write_statistics(void *device, uint64_t pipeline, int index) {
  const char *dir = getenv("SPIRV_SHIM_DIR");
  if (!dir || index < 0) return;
  pipeline_info info = {STYPE_PIPELINE_INFO, NULL, pipeline};
  uint32_t count = 0;
  if (driver_get_executable_properties(device, &info, &count, NULL) != 0 || count == 0) return;
  if (count > 8) count = 8;
  executable_properties props[8];
  memset(props, 0, sizeof props);
  for (uint32_t i = 0; i < count; i++) props[i].s_type = STYPE_EXECUTABLE_PROPERTIES;
  if (driver_get_executable_properties(device, &info, &count, props) < 0) return;
  char path[4096];
  snprintf(path, sizeof path, "%s/%04d.stats", dir, index);
  FILE *f = fopen(path, "w");
  if (!f) return;
  for (uint32_t e = 0; e < count; e++) {
    fprintf(f, "executable\t%s\n", props[e].name);
    executable_info which = {STYPE_EXECUTABLE_INFO, NULL, pipeline, e};
    executable_statistic stats[MAX_STATS];
    memset(stats, 0, sizeof stats);
    for (int i = 0; i < MAX_STATS; i++) stats[i].s_type = STYPE_EXECUTABLE_STATISTIC;
    uint32_t n = MAX_STATS;
    if (driver_get_executable_statistics(device, &which, &n, stats) < 0) continue;
    write_representations(device, &which, dir, index);
    for (uint32_t i = 0; i < n; i++) {
      fprintf(f, "%s\t", stats[i].name);
      switch (stats[i].format) {
      case 0: fprintf(f, "%s\n", stats[i].value.b32 ? "true" : "false"); break;
      case 1: fprintf(f, "%lld\n", (long long)stats[i].value.i64); break;
      case 2: fprintf(f, "%llu\n", (unsigned long long)stats[i].value.u64); break;
      default: fprintf(f, "%.17g\n", stats[i].value.f64); break;
      }
    }
  }
  fclose(f);
}

static int32_t shim_create_compute_pipelines(void *device, uint64_t cache, uint32_t count,
                                             const compute_pipeline_create_info *infos,
                                             const void *allocator, uint64_t *pipelines) {
  if (!statistics_enabled || count == 0 || count > 64) {
    return driver_create_compute_pipelines(device, cache, count, infos, allocator, pipelines);
  }
  compute_pipeline_create_info copies[64];
  memcpy(copies, infos, count * sizeof *infos);
  for (uint32_t i = 0; i < count; i++) {
    copies[i].flags |= PIPELINE_CREATE_CAPTURE_STATISTICS;
    if (driver_get_internal_representations) {
      copies[i].flags |= PIPELINE_CREATE_CAPTURE_INTERNAL_REPRESENTATIONS;
    }
  }
  int32_t result = driver_create_compute_pipelines(device, cache, count, copies, allocator,
                                                   pipelines);
  if (result == 0) {
    for (uint32_t i = 0; i < count; i++) {
      write_statistics(device, pipelines[i], module_index(copies[i].stage.module));
    }
  }
  return result;
}

/* vkCreateDevice, with VK_KHR_pipeline_executable_properties enabled when SPIRV_SHIM_STATS is
 * set and the driver has it. */
static int32_t shim_create_device(void *physical_device, const device_create_info *info,
                                  const void *allocator, void *device) {
  if (!getenv("SPIRV_SHIM_STATS") || !driver_enumerate_device_extensions) {
    return driver_create_device(physical_device, info, allocator, device);
  }
  uint32_t n = 0;
  driver_enumerate_device_extensions(physical_device, NULL, &n, NULL);
  extension_properties *exts = calloc(n ? n : 1, sizeof *exts);
  int has = 0;
  if (exts && driver_enumerate_device_extensions(physical_device, NULL, &n, exts) >= 0) {
    for (uint32_t i = 0; i < n; i++) has |= strcmp(exts[i].extension_name, EXECUTABLE_EXTENSION) == 0;
  }
  free(exts);
  if (!has) {
    fprintf(stderr, "spirv shim: the driver has no " EXECUTABLE_EXTENSION ": no statistics\n");
    return driver_create_device(physical_device, info, allocator, device);
  }
  device_create_info copy = *info;
  const char **names = calloc(info->enabled_extension_count + 1, sizeof *names);
  if (!names) return driver_create_device(physical_device, info, allocator, device);
  int listed = 0;
  for (uint32_t i = 0; i < info->enabled_extension_count; i++) {
    names[i] = info->pp_enabled_extension_names[i];
    listed |= strcmp(names[i], EXECUTABLE_EXTENSION) == 0;
  }
  copy.enabled_extension_count = info->enabled_extension_count + (listed ? 0 : 1);
  if (!listed) names[info->enabled_extension_count] = EXECUTABLE_EXTENSION;
  copy.pp_enabled_extension_names = names;
  executable_features features = {STYPE_EXECUTABLE_FEATURES, (void *)info->p_next, 1};
  copy.p_next = &features;
  int32_t result = driver_create_device(physical_device, &copy, allocator, device);
  free(names);
  statistics_enabled = result == 0;
  return result;
}

static pfn_void shim_device_proc(void *device, const char *name) {
  if (strcmp(name, "vkGetDeviceProcAddr") == 0) return (pfn_void)shim_device_proc;
  if (strcmp(name, "vkCreateComputePipelines") == 0) {
    driver_create_compute_pipelines = (pfn_create_compute_pipelines)driver_device_proc(device, name);
    driver_get_executable_properties = (pfn_get_executable_properties)driver_device_proc(
        device, "vkGetPipelineExecutablePropertiesKHR");
    driver_get_executable_statistics = (pfn_get_executable_statistics)driver_device_proc(
        device, "vkGetPipelineExecutableStatisticsKHR");
    driver_get_internal_representations = (pfn_get_internal_representations)driver_device_proc(
        device, "vkGetPipelineExecutableInternalRepresentationsKHR");
    if (!driver_create_compute_pipelines) return NULL;
    if (!driver_get_executable_properties || !driver_get_executable_statistics) {
      return (pfn_void)driver_create_compute_pipelines;
    }
    return (pfn_void)shim_create_compute_pipelines;
  }
  if (strcmp(name, "vkCreateShaderModule") == 0) {
    /* The device-level entry point: the instance-level one of some drivers is a dispatcher
     * that the loader's device handles do not fit. */
    driver_create_shader_module = (pfn_create_shader_module)driver_device_proc(device, name);
    return driver_create_shader_module ? (pfn_void)shim_create_shader_module : NULL;
  }
  return driver_device_proc(device, name);
}

pfn_void vk_icdGetInstanceProcAddr(void *instance, const char *name) {
  if (!load_driver()) return NULL;
  if (strcmp(name, "vkGetDeviceProcAddr") == 0) {
    driver_device_proc = (pfn_proc_addr)driver_instance_proc(instance, name);
    return driver_device_proc ? (pfn_void)shim_device_proc : NULL;
  }
  if (strcmp(name, "vkCreateDevice") == 0 && instance) {
    driver_create_device = (pfn_create_device)driver_instance_proc(instance, name);
    driver_enumerate_device_extensions = (pfn_enumerate_device_extensions)driver_instance_proc(
        instance, "vkEnumerateDeviceExtensionProperties");
    return driver_create_device ? (pfn_void)shim_create_device : NULL;
  }
  return driver_instance_proc(instance, name);
}

pfn_void vk_icdGetPhysicalDeviceProcAddr(void *instance, const char *name) {
  if (!load_driver() || !driver_physical_device_proc) return NULL;
  return driver_physical_device_proc(instance, name);
}

int32_t vk_icdNegotiateLoaderICDInterfaceVersion(uint32_t *version) {
  /* VK_ERROR_INCOMPATIBLE_DRIVER (-9) when the real driver cannot be loaded. */
  if (!load_driver() || !driver_negotiate) return -9;
  return driver_negotiate(version);
}
