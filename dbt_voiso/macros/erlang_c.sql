{#- CTEs that end in `staffing`: per row of `relation` (keyed by `keys`) with a handled
    contact, `required_agents`, the fewest agents N for which Erlang C meets
    `voiso_service_level_target` at `voiso_service_level_seconds`:

      A    = (offered - short_abandoned) / interval seconds * average handle time
      B(0) = 1, B(n) = A * B(n-1) / (n + A * B(n-1))          (Erlang B, iterated)
      C(N) = B(N) / (1 - (A / N) * (1 - B(N)))                 (probability of waiting)
      SL(N) = 1 - C(N) * exp(-(N - A) * t / average handle time)

    over N from floor(A) + 1 (fewer cannot keep up) to floor(A) + 10 + ceil(6 * sqrt(A))
    (far past any target below 1; NULL if none there meets it). A = 0 (every handled
    contact took no time): 1. `relation` needs columns offered, short_abandoned, handled
    and average_handle_time_seconds. -#}
{% macro voiso_erlang_c_ctes(relation, keys, interval_seconds) -%}
  {{ return(adapter.dispatch('voiso_erlang_c_ctes', 'dbt_voiso')(relation, keys, interval_seconds)) }}
{%- endmacro %}

{#- `erlang_bounds`: per row with a handled contact, its erlang_id, keys, aht,
    load_erlangs (A) and max_agents, the largest N tried. -#}
{% macro voiso_erlang_bounds_ctes(relation, keys, interval_seconds) -%}
{%- set double = dbt_voiso.voiso_type_double() -%}
erlang_inputs as (
    select
        {{ keys | join(', ') }},
        row_number() over (order by {{ keys | join(', ') }}) as erlang_id,
        cast(average_handle_time_seconds as {{ double }}) as aht,
        cast(offered - short_abandoned as {{ double }}) / {{ interval_seconds }}
            * cast(average_handle_time_seconds as {{ double }}) as load_erlangs
    from {{ relation }}
    where handled > 0
),

erlang_bounds as (
    select
        *,
        cast(floor(load_erlangs) as integer) + 10
            + cast(ceil(6 * sqrt(load_erlangs)) as integer) as max_agents
    from erlang_inputs
)
{%- endmacro %}

{#- Erlang B iterated in a recursive CTE (DuckDB, PostgreSQL). -#}
{% macro default__voiso_erlang_c_ctes(relation, keys, interval_seconds) -%}
{%- set target = var('voiso_service_level_target', 0.80) -%}
{%- set threshold = var('voiso_service_level_seconds', 20) -%}
{%- set double = dbt_voiso.voiso_type_double() -%}
{{ dbt_voiso.voiso_erlang_bounds_ctes(relation, keys, interval_seconds) }},

{#- Erlang B for N = 0, 1, ... until N meets the target (met) or reaches the bound.
    Written out in the recursive step (PostgreSQL takes no subquery around the recursion). -#}
{%- set agents = '(erlang_b.agents + 1)' -%}
{%- set load = 'erlang_bounds.load_erlangs' -%}
{%- set blocking = '(' ~ load ~ ' * erlang_b.blocking / (' ~ agents ~ ' + ' ~ load ~ ' * erlang_b.blocking))' %}
erlang_b {{ dbt_voiso.voiso_cte_columns(['erlang_id', 'agents', 'blocking', 'met']) }} as (
    select erlang_id, cast(0 as integer) as agents, cast(1 as {{ double }}) as blocking, false as met
    from erlang_bounds
    union all
    select
        erlang_b.erlang_id,
        {{ agents }},
        {{ blocking }},
        coalesce({{ agents }} > {{ load }} and (
            {{ load }} = 0
            or 1 - {{ blocking }}
                / (1 - {{ load }} / {{ agents }} * (1 - {{ blocking }}))
                * {{ dbt_voiso.voiso_exp_or_zero('-(' ~ agents ~ ' - ' ~ load ~ ') * ' ~ threshold ~ ' / nullif(erlang_bounds.aht, 0)') }}
                >= {{ target }}
        ), false)
    from erlang_b
    inner join erlang_bounds on erlang_b.erlang_id = erlang_bounds.erlang_id
    where erlang_b.agents < erlang_bounds.max_agents and not erlang_b.met
),

erlang_met as (
    select erlang_id, min(agents) as required_agents
    from erlang_b
    where met
    group by erlang_id
),

staffing as (
    select
        {%- for key in keys %}
        erlang_bounds.{{ key }},
        {%- endfor %}
        erlang_met.required_agents
    from erlang_bounds
    left join erlang_met on erlang_met.erlang_id = erlang_bounds.erlang_id
)
{%- endmacro %}


{#- Spark 3.5 has no recursive CTE: per row, the candidates N from floor(A) + 1 to
    max_agents as an array, Erlang B(N) folded over 1..N with `aggregate` (the same
    operations in the same order as the recursion, so the same doubles), the first N
    that meets the target. -#}
{% macro spark__voiso_erlang_c_ctes(relation, keys, interval_seconds) -%}
{%- set target = var('voiso_service_level_target', 0.80) -%}
{%- set threshold = var('voiso_service_level_seconds', 20) -%}
{%- set load = 'erlang_bounds.load_erlangs' -%}
{%- set blocking = 'aggregate(sequence(1, erlang_n), cast(1 as double), (erlang_b, erlang_k) -> '
    ~ load ~ ' * erlang_b / (erlang_k + ' ~ load ~ ' * erlang_b))' -%}
{{ dbt_voiso.voiso_erlang_bounds_ctes(relation, keys, interval_seconds) }},

staffing as (
    select
        {%- for key in keys %}
        erlang_bounds.{{ key }},
        {%- endfor %}
        element_at(filter(
            sequence(cast(floor({{ load }}) as integer) + 1, erlang_bounds.max_agents),
            erlang_n -> {{ load }} = 0
                or 1 - {{ blocking }}
                    / (1 - {{ load }} / erlang_n * (1 - {{ blocking }}))
                    * {{ dbt_voiso.voiso_exp_or_zero('-(erlang_n - ' ~ load ~ ') * ' ~ threshold ~ ' / nullif(erlang_bounds.aht, 0)') }}
                    >= {{ target }}
        ), 1) as required_agents
    from erlang_bounds
)
{%- endmacro %}

{#- e^x, but 0 where x < -700: PostgreSQL raises "value out of range: underflow" below
    about -745 (DuckDB returns 0). A short handle time against a long threshold makes
    the exponent that large; e^-700 is below any service level's resolution. -#}
{%- macro voiso_exp_or_zero(x) -%}
case when ({{ x }}) < -700 then 0 else exp({{ x }}) end
{%- endmacro %}
