{#- How dbt_voiso builds incrementally. `stg_voiso__cdrs` alone decides which CDRs to
    build again (the lookback below); every row a build writes carries the run's start
    as `dbt_built_at`, and every model downstream rebuilds exactly what that touched:
    the CDR models the CDRs rebuilt, the daily and interval models their days and
    intervals, whole. -#}

{#- The CDR models' config: merged on their id. -#}
{% macro voiso_incremental_config(unique_key) -%}
  {{ return(adapter.dispatch('voiso_incremental_config', 'dbt_voiso')(unique_key)) }}
{%- endmacro %}

{#- delete+insert. On Snowflake the rows to merge are first written to a transient table
    (`tmp_relation_type`, which other adapters ignore: no session-scoped temporary
    table, no fail-safe storage). -#}
{% macro default__voiso_incremental_config(unique_key) -%}
  {{ config(materialized='incremental', unique_key=unique_key, incremental_strategy='delete+insert',
            tmp_relation_type='transient') }}
{%- endmacro %}

{#- BigQuery has no delete+insert: merge on the id. -#}
{% macro bigquery__voiso_incremental_config(unique_key) -%}
  {{ config(materialized='incremental', unique_key=unique_key, incremental_strategy='merge') }}
{%- endmacro %}

{#- Spark's parquet tables (dbt-spark's default format; Delta on Databricks) take no
    delete: each CDR model is partitioned by its local day,
    and an incremental build overwrites the days it builds, whole (stg_voiso__cdrs builds
    every CDR of the days its changed CDRs fall in: voiso_cdrs_to_build_again). -#}
{% macro spark__voiso_incremental_config(unique_key) -%}
  {{ config(materialized='incremental', incremental_strategy='insert_overwrite',
            partition_by=['local_date']) }}
{%- endmacro %}

{#- The daily and interval models' config: every row of a rebuilt day or interval
    (`grain`) is deleted and built again, so a group that lost its last contact goes.
    BigQuery has no delete+insert, and a merge on a key many rows share fails: there
    these models are tables, built anew every run. -#}
{% macro voiso_incremental_grain_config(grain) -%}
  {{ return(adapter.dispatch('voiso_incremental_grain_config', 'dbt_voiso')(grain)) }}
{%- endmacro %}

{% macro default__voiso_incremental_grain_config(grain) -%}
  {{ config(materialized='incremental', unique_key=grain, incremental_strategy='delete+insert',
            tmp_relation_type='transient') }}
{%- endmacro %}

{% macro bigquery__voiso_incremental_grain_config(grain) -%}
  {{ config(materialized='table') }}
{%- endmacro %}

{#- Spark: partitioned by the grain, whose rebuilt partitions an incremental build
    overwrites (dynamic partition overwrite: the same rows delete+insert leaves). The
    interval models are tables, built whole each run: a partition per quarter hour is
    thousands of small files and metastore entries (2,880 in 30 days), slower to write
    than the whole table. -#}
{% macro spark__voiso_incremental_grain_config(grain) -%}
  {%- if grain == 'interval_start_utc' -%}
    {{ config(materialized='table') }}
  {%- else -%}
    {{ config(materialized='incremental', incremental_strategy='insert_overwrite',
              partition_by=[grain]) }}
  {%- endif -%}
{%- endmacro %}

{#- This run's start, in UTC without a zone: every row it writes has it as `dbt_built_at`. -#}
{% macro voiso_built_at() -%}
  cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The largest value of `column` in `relation`, as SQL (a literal), or none when it is
    empty (or when dbt only parses). Read before the model's query runs, so that the
    query compares a column with a constant: DuckDB then skips the blocks of rows whose
    minimum and maximum rule them out (rows built by one run sit together), rather than
    reading every row of a million. -#}
{% macro voiso_max_literal(relation, column) -%}
  {{ return(dbt_voiso.voiso_aggregate_literal('max', relation, column)) }}
{%- endmacro %}

{#- The smallest, likewise. -#}
{% macro voiso_min_literal(relation, column) -%}
  {{ return(dbt_voiso.voiso_aggregate_literal('min', relation, column)) }}
{%- endmacro %}

{% macro voiso_aggregate_literal(aggregate, relation, column) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set value = run_query('select ' ~ aggregate ~ '(' ~ column ~ ') from ' ~ relation).columns[0].values()[0] -%}
  {%- if value is none -%}{{ return(none) }}{%- endif -%}
  {{ return("cast('" ~ value ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}

{#- On an incremental build, stop with what to do when the model's table was built by a
    dbt_voiso that wrote no `dbt_built_at` (the daily and interval models were tables):
    rebuilding it in full is the one way to give its rows one. -#}
{% macro voiso_require_built_at() -%}
  {%- if execute and is_incremental() -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'dbt_built_at' not in names -%}
      {{ exceptions.raise_compiler_error(
          this ~ " was built by an earlier dbt_voiso, without the column dbt_built_at that"
          ~ " incremental builds now go by: build every model anew once, with"
          ~ " `dbt build --full-refresh` (Meltano: `meltano run dbt-duckdb:rebuild`, or"
          ~ " `dbt-postgres:rebuild`).") }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{#- On an incremental build of the model being built, the condition an upstream row
    (its `dbt_built_at`: column) is taken on: built after this model's own last build
    (in this run, or in a run that built the upstream model alone), or anything when
    this model is empty. When a clock went back (this run starting before the last
    build), every row from this run's start on. On a full build: true. -#}
{% macro voiso_built_since_last_build(column) -%}
  {%- if is_incremental() -%}
    {%- do dbt_voiso.voiso_require_built_at() -%}
    {%- set last = dbt_voiso.voiso_max_literal(this, 'dbt_built_at') -%}
    {%- if last is none -%}
      (1 = 1)
    {%- else -%}
      ({{ column }} > least({{ last }}, {{ dbt_voiso.voiso_dateadd('microsecond', -1, dbt_voiso.voiso_built_at()) }}))
    {%- endif -%}
  {%- else -%}
    (1 = 1)
  {%- endif -%}
{%- endmacro %}

{#- On an incremental build, the condition a row of `grain` (a day, an interval) is
    built on: some row of the upstream relations (`upstream`) holding it was built since
    this model's last build (extra: a SQL query of more keys to rebuild, or none). On a
    full build: true. -#}
{% macro voiso_grain_rebuilt(grain, upstream, extra=none) -%}
  {%- if is_incremental() -%}
    {{ grain }} in (
    {%- for relation in upstream %}
        select {{ grain }} from {{ relation }}
        where {{ dbt_voiso.voiso_built_since_last_build('dbt_built_at') }}
        {{- '\n        union' if not loop.last or extra is not none }}
    {%- endfor %}
    {%- if extra is not none %}
        {{ extra }}
    {%- endif %}
    )
  {%- else -%}
    (1 = 1)
  {%- endif -%}
{%- endmacro %}

{#- On an incremental build of `stg_voiso__cdrs`, the condition a landed CDR row
    (started, ended, loaded: columns) is built again on: it started or ended at most
    `voiso_lookback_hours` before the latest start already built, or it landed after the
    latest landing already built (targets that write _sdc_batched_at). On a full build
    (or onto an empty table): true. -#}
{% macro voiso_changed_since_last_build(started, ended, loaded) -%}
  {%- set latest = dbt_voiso.voiso_max_literal(this, 'started_at') if is_incremental() else none -%}
  {%- if latest is none -%}
    (1 = 1)
  {%- else -%}
    {%- set cutoff = dbt.dateadd('hour', -1 * var('voiso_lookback_hours', 3), latest) -%}
    {%- set landed = dbt_voiso.voiso_max_literal(this, 'loaded_at') -%}
    ({{ started }} >= ({{ cutoff }})
      or {{ ended }} >= ({{ cutoff }})
      {%- if landed is not none %}
      or {{ loaded }} > {{ landed }}
      {%- endif %})
  {%- endif -%}
{%- endmacro %}

{#- On an incremental build of `stg_voiso__cdrs`, the condition a landed row is read on:
    every version of each CDR to build again (`changed_ids`, a query of ids), so that
    the latest still wins; the earliest start among them (`earliest`, a constant)
    spares DuckDB reading older rows. -#}
{% macro voiso_cdrs_to_build_again(source_relation, changed_ids, earliest) -%}
  {{ return(adapter.dispatch('voiso_cdrs_to_build_again', 'dbt_voiso')(source_relation, changed_ids, earliest)) }}
{%- endmacro %}

{% macro default__voiso_cdrs_to_build_again(source_relation, changed_ids, earliest) -%}
    cast(id as {{ dbt.type_string() }}) in ({{ changed_ids }})
        and cast(started_at as {{ dbt.type_timestamp() }}) >= {{ earliest if earliest is not none else 'null' }}
{%- endmacro %}

{#- Spark: every CDR of the local days the changed CDRs started on, since the CDR models
    overwrite whole days (spark__voiso_incremental_config). -#}
{% macro spark__voiso_cdrs_to_build_again(source_relation, changed_ids, earliest) -%}
  {%- set day -%}
    cast({{ dbt_voiso.voiso_local_timestamp('cast(started_at as ' ~ dbt.type_timestamp() ~ ')') }} as date)
  {%- endset -%}
    {{ day }} in (
        select {{ day }} from {{ source_relation }}
        where cast(id as {{ dbt.type_string() }}) in ({{ changed_ids }})
    )
{%- endmacro %}
