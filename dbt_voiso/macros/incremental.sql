{#- How dbt_voiso builds incrementally. `stg_voiso__cdrs` alone decides which CDRs to
    build again (the lookback below); every row a build writes carries the run's start
    as `dbt_built_at`, and every model downstream rebuilds exactly what that touched:
    the CDR models the CDRs rebuilt, the daily and interval models their days and
    intervals, whole. -#}

{#- The CDR models' config: merged on their id (delete+insert; BigQuery: merge). On
    Snowflake the rows to merge are first written to a transient table
    (`tmp_relation_type`: no session-scoped temporary table, no fail-safe storage). -#}
{% macro voiso_incremental_config(unique_key) -%}
  {{ config(materialized='incremental', unique_key=unique_key,
            incremental_strategy=dbt_voiso.voiso_incremental_strategy(), tmp_relation_type='transient') }}
{%- endmacro %}

{#- The daily and interval models' config: every row of a rebuilt day or interval
    (`grain`) is deleted and built again, so a group that lost its last contact goes.
    BigQuery has no delete+insert, and a merge on a key many rows share fails: there
    these models are tables, built anew every run. -#}
{% macro voiso_incremental_grain_config(grain) -%}
  {{ config(materialized=dbt_voiso.voiso_grain_materialization(), unique_key=grain,
            incremental_strategy='delete+insert', tmp_relation_type='transient') }}
{%- endmacro %}

{% macro voiso_incremental_strategy() -%}
  {{ return(adapter.dispatch('voiso_incremental_strategy', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_incremental_strategy() -%}{{ return('delete+insert') }}{%- endmacro %}

{% macro bigquery__voiso_incremental_strategy() -%}{{ return('merge') }}{%- endmacro %}

{% macro voiso_grain_materialization() -%}
  {{ return(adapter.dispatch('voiso_grain_materialization', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_grain_materialization() -%}{{ return('incremental') }}{%- endmacro %}

{% macro bigquery__voiso_grain_materialization() -%}{{ return('table') }}{%- endmacro %}

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
      ({{ column }} > least({{ last }}, {{ dbt.dateadd('microsecond', -1, dbt_voiso.voiso_built_at()) }}))
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
