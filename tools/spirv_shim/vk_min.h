/*
 * The few Vulkan 1.0 / 1.1 structures, constants and function types that the SPIR-V shim
 * (icd_shim.c) and pipeline_stats.c use, declared as the Vulkan headers lay them out
 * (natural C alignment, 64-bit non-dispatchable handles), so that neither needs the Vulkan
 * headers (a machine may have the loader and a driver without libvulkan-dev). Names follow
 * the specification's, in snake_case; values are the specification's.
 */
#ifndef VK_MIN_H
#define VK_MIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*pfn_void)(void);

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

/* The Vulkan structures the statistics need, as the Vulkan 1.0 and
 * VK_KHR_pipeline_executable_properties headers lay them out (natural C alignment). */
typedef struct {
  int32_t s_type;
  const void *p_next;
  uint32_t flags;
  uint32_t queue_create_info_count;
  const void *p_queue_create_infos;
  uint32_t enabled_layer_count;
  const char *const *pp_enabled_layer_names;
  uint32_t enabled_extension_count;
  const char *const *pp_enabled_extension_names;
  const void *p_enabled_features;
} device_create_info;

typedef struct {
  char extension_name[256];
  uint32_t spec_version;
} extension_properties;

typedef struct {
  int32_t s_type;
  void *p_next;
  uint32_t pipeline_executable_info; /* VkBool32 */
} executable_features;

typedef struct {
  int32_t s_type;
  const void *p_next;
  uint32_t flags;
  uint32_t stage;
  uint64_t module;
  const char *p_name;
  const void *p_specialization_info;
} shader_stage_create_info;

typedef struct {
  int32_t s_type;
  const void *p_next;
  uint32_t flags;
  shader_stage_create_info stage;
  uint64_t layout;
  uint64_t base_pipeline_handle;
  int32_t base_pipeline_index;
} compute_pipeline_create_info;

typedef struct {
  int32_t s_type;
  const void *p_next;
  uint64_t pipeline;
} pipeline_info;

typedef struct {
  int32_t s_type;
  void *p_next;
  uint32_t stages;
  char name[256];
  char description[256];
  uint32_t subgroup_size;
} executable_properties;

typedef struct {
  int32_t s_type;
  const void *p_next;
  uint64_t pipeline;
  uint32_t executable_index;
} executable_info;

typedef struct {
  int32_t s_type;
  void *p_next;
  char name[256];
  char description[256];
  int32_t format; /* 0 bool32, 1 int64, 2 uint64, 3 float64 */
  union {
    uint32_t b32;
    int64_t i64;
    uint64_t u64;
    double f64;
  } value;
} executable_statistic;

typedef struct {
  int32_t s_type;
  void *p_next;
  char name[256];
  char description[256];
  uint32_t is_text; /* VkBool32 */
  size_t data_size;
  void *p_data;
} executable_internal_representation;

#define STYPE_EXECUTABLE_FEATURES 1000269000
#define STYPE_PIPELINE_INFO 1000269001
#define STYPE_EXECUTABLE_PROPERTIES 1000269002
#define STYPE_EXECUTABLE_INFO 1000269003
#define STYPE_EXECUTABLE_STATISTIC 1000269004
#define STYPE_EXECUTABLE_INTERNAL_REPRESENTATION 1000269005
#define PIPELINE_CREATE_CAPTURE_STATISTICS 0x40u
#define PIPELINE_CREATE_CAPTURE_INTERNAL_REPRESENTATIONS 0x80u
#define EXECUTABLE_EXTENSION "VK_KHR_pipeline_executable_properties"
#define MAX_STATS 64

typedef int32_t (*pfn_create_device)(void *, const device_create_info *, const void *, void *);
typedef int32_t (*pfn_enumerate_device_extensions)(void *, const char *, uint32_t *,
                                                   extension_properties *);
typedef int32_t (*pfn_create_compute_pipelines)(void *, uint64_t, uint32_t,
                                                const compute_pipeline_create_info *,
                                                const void *, uint64_t *);
typedef int32_t (*pfn_get_executable_properties)(void *, const pipeline_info *, uint32_t *,
                                                 executable_properties *);
typedef int32_t (*pfn_get_executable_statistics)(void *, const executable_info *, uint32_t *,
                                                 executable_statistic *);
typedef int32_t (*pfn_get_internal_representations)(void *, const executable_info *, uint32_t *,
                                                    executable_internal_representation *);

/* What pipeline_stats.c adds: an instance and a device of its own, and a pipeline layout. */
typedef struct {
  int32_t s_type;
  const void *p_next;
  const char *p_application_name;
  uint32_t application_version;
  const char *p_engine_name;
  uint32_t engine_version;
  uint32_t api_version;
} application_info;

typedef struct {
  int32_t s_type;
  const void *p_next;
  uint32_t flags;
  const application_info *p_application_info;
  uint32_t enabled_layer_count;
  const char *const *pp_enabled_layer_names;
  uint32_t enabled_extension_count;
  const char *const *pp_enabled_extension_names;
} instance_create_info;

typedef struct {
  int32_t s_type;
  const void *p_next;
  uint32_t flags;
  uint32_t queue_family_index;
  uint32_t queue_count;
  const float *p_queue_priorities;
} device_queue_create_info;

typedef struct {
  uint32_t binding;
  int32_t descriptor_type;
  uint32_t descriptor_count;
  uint32_t stage_flags;
  const void *p_immutable_samplers;
} descriptor_set_layout_binding;

typedef struct {
  int32_t s_type;
  const void *p_next;
  uint32_t flags;
  uint32_t binding_count;
  const descriptor_set_layout_binding *p_bindings;
} descriptor_set_layout_create_info;

typedef struct {
  int32_t s_type;
  const void *p_next;
  uint32_t flags;
  uint32_t set_layout_count;
  const uint64_t *p_set_layouts;
  uint32_t push_constant_range_count;
  const void *p_push_constant_ranges;
} pipeline_layout_create_info;

#define STYPE_APPLICATION_INFO 0
#define STYPE_INSTANCE_CREATE_INFO 1
#define STYPE_DEVICE_QUEUE_CREATE_INFO 2
#define STYPE_DEVICE_CREATE_INFO 3
#define STYPE_SHADER_MODULE_CREATE_INFO 16
#define STYPE_PIPELINE_SHADER_STAGE_CREATE_INFO 18
#define STYPE_COMPUTE_PIPELINE_CREATE_INFO 29
#define STYPE_PIPELINE_LAYOUT_CREATE_INFO 30
#define STYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO 32
#define STAGE_COMPUTE 0x20u
#define API_VERSION_1_1 ((1u << 22) | (1u << 12))

/* Write an executable's text internal representations (VK_KHR_pipeline_executable_properties:
 * a driver's IR and compiled code) to `path`, opened with `mode` ("w" or "a") only when the
 * driver gives some, each after a "== name" line. Two calls per representation, as the
 * extension has it: the count and sizes, then the text. Shared by icd_shim.c and
 * pipeline_stats.c. */
static void write_text_representations(pfn_get_internal_representations get, void *device,
                                       const executable_info *which, const char *path,
                                       const char *mode) {
  enum { MAX_REPRESENTATIONS = 8 };
  uint32_t n = 0;
  if (!get || get(device, which, &n, NULL) < 0 || n == 0) return;
  if (n > MAX_REPRESENTATIONS) n = MAX_REPRESENTATIONS;
  executable_internal_representation reps[MAX_REPRESENTATIONS];
  memset(reps, 0, sizeof reps);
  for (uint32_t i = 0; i < n; i++) reps[i].s_type = STYPE_EXECUTABLE_INTERNAL_REPRESENTATION;
  if (get(device, which, &n, reps) < 0) return;
  for (uint32_t i = 0; i < n; i++) {
    reps[i].p_data = reps[i].data_size ? calloc(1, reps[i].data_size + 1) : NULL;
    if (!reps[i].p_data) reps[i].data_size = 0;
  }
  FILE *f = get(device, which, &n, reps) >= 0 ? fopen(path, mode) : NULL;
  for (uint32_t i = 0; i < n; i++) {
    if (f && reps[i].is_text && reps[i].p_data) {
      fprintf(f, "== %s\n%s\n", reps[i].name, (const char *)reps[i].p_data);
    }
    free(reps[i].p_data);
  }
  if (f) fclose(f);
}

#endif
