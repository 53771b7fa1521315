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
 *
 * Interface: the loader-ICD interface (LoaderDriverInterface.md of Khronos' Vulkan-Loader):
 * the three vk_icd* entry points are forwarded; device functions reach the driver through
 * vkGetDeviceProcAddr, which the shim wraps so that vkCreateShaderModule is its own. No
 * Vulkan header is needed: only the create-info's layout is read.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*pfn_void)(void);
typedef pfn_void (*pfn_proc_addr)(void *, const char *);
typedef int32_t (*pfn_negotiate)(uint32_t *);

/* VkShaderModuleCreateInfo (Vulkan 1.0): sType, pNext, flags, codeSize, pCode. */
typedef struct {
  int32_t s_type;
  const void *p_next;
  uint32_t flags;
  size_t code_size;
  const uint32_t *p_code;
} shader_module_create_info;

typedef int32_t (*pfn_create_shader_module)(void *, const shader_module_create_info *,
                                            const void *, void *);

static void *driver;
static pfn_proc_addr driver_instance_proc;
static pfn_proc_addr driver_physical_device_proc;
static pfn_negotiate driver_negotiate;
static pfn_proc_addr driver_device_proc;
static pfn_create_shader_module driver_create_shader_module;
static unsigned dumped;

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
  return driver_create_shader_module(device, info, allocator, module);
}

static pfn_void shim_device_proc(void *device, const char *name) {
  if (strcmp(name, "vkGetDeviceProcAddr") == 0) return (pfn_void)shim_device_proc;
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
