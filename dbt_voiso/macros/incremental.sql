{#- The incremental CDR models' config: merged on their id (delete+insert on both adapters). -#}
{% macro voiso_incremental_config(unique_key) -%}
  {{ config(materialized='incremental', unique_key=unique_key, incremental_strategy='delete+insert') }}
{%- endmacro %}

{#- On an incremental build, the condition a CDR row (started, ended, loaded: columns) is
    built again on: it started or ended at most `voiso_lookback_hours` before the latest
    start already built, or it landed after the latest landing already built (targets
    that write _sdc_batched_at). On a full build: true. -#}
{% macro voiso_changed_since_last_build(started, ended, loaded) -%}
  {%- if is_incremental() -%}
    {%- set cutoff = dbt.dateadd('hour', -1 * var('voiso_lookback_hours', 3), '(select max(started_at) from ' ~ this ~ ')') -%}
    ({{ started }} >= ({{ cutoff }})
      or {{ ended }} >= ({{ cutoff }})
      or {{ loaded }} > (select max(loaded_at) from {{ this }}))
  {%- else -%}
    (1 = 1)
  {%- endif -%}
{%- endmacro %}
