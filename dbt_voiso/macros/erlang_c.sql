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
{%- set target = var('voiso_service_level_target', 0.80) -%}
{%- set threshold = var('voiso_service_level_seconds', 20) -%}
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
),

erlang_b (erlang_id, agents, blocking) as (
    select erlang_id, 0, cast(1 as {{ double }}) from erlang_bounds
    union all
    select
        erlang_b.erlang_id,
        erlang_b.agents + 1,
        erlang_bounds.load_erlangs * erlang_b.blocking
            / (erlang_b.agents + 1 + erlang_bounds.load_erlangs * erlang_b.blocking)
    from erlang_b
    inner join erlang_bounds on erlang_b.erlang_id = erlang_bounds.erlang_id
    where erlang_b.agents < erlang_bounds.max_agents
),

erlang_met as (
    select
        erlang_bounds.erlang_id,
        min(erlang_b.agents) as required_agents
    from erlang_bounds
    inner join erlang_b on erlang_b.erlang_id = erlang_bounds.erlang_id
    where erlang_b.agents >= 1
        and erlang_b.agents > erlang_bounds.load_erlangs
        and (
            erlang_bounds.load_erlangs = 0
            or 1 - erlang_b.blocking
                / (1 - erlang_bounds.load_erlangs / erlang_b.agents * (1 - erlang_b.blocking))
                * exp(-(erlang_b.agents - erlang_bounds.load_erlangs) * {{ threshold }} / nullif(erlang_bounds.aht, 0))
                >= {{ target }}
        )
    group by erlang_bounds.erlang_id
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
