{#- A singular test's SQL: the rows where a model differs from the scenario's expected
    seed (`expected_<scenario>_<model without voiso__>`), which tests/kpis.py computed
    from the same CDRs. dbt_utils' equality cannot be fetched here (no dbt Hub), and an
    exact equality would fail on the last bit of a float; so:

    - a key on one side only: a row `only in the model` or `only expected`;
    - a number differing by more than 1e-6, or NULL on one side only: a row naming it;
    - any other value not the same: a row naming it (the first such column);
    - a column on one side only (dbt_built_at aside): the test errors, naming it. -#}
{% macro equals_expected(model, keys) -%}
  {%- set actual = ref(model) -%}
  {%- set expected = ref('expected_' ~ var('integration_scenario') ~ '_' ~ model | replace('voiso__', '')) -%}
  {%- set values = [] -%}
  {%- if execute -%}
    {%- set built = [] -%}
    {%- for column in adapter.get_columns_in_relation(actual) if column.name | lower != 'dbt_built_at' -%}
      {%- do built.append(column.name | lower) -%}
    {%- endfor -%}
    {%- set wanted = {} -%}
    {%- for column in adapter.get_columns_in_relation(expected) -%}
      {%- do wanted.update({column.name | lower: column.is_number()}) -%}
    {%- endfor -%}
    {%- if built | sort != wanted.keys() | sort -%}
      {{ exceptions.raise_compiler_error(model ~ ": the model's columns " ~ (built | sort)
          ~ " are not the expected seed's " ~ (wanted.keys() | sort)) }}
    {%- endif -%}
    {%- for name, numeric in wanted.items() | sort if name not in keys -%}
      {%- do values.append((name, numeric)) -%}
    {%- endfor -%}
  {%- endif %}

with joined as (
    select
    {%- for key in keys %}
        coalesce(a.{{ key }}, e.{{ key }}) as {{ key }},
    {%- endfor %}
        a.present as in_model,
        e.present as in_expected
    {%- for name, numeric in values %},
        case
        {%- if numeric %}
            when a.{{ name }} is null and e.{{ name }} is null then null
            when a.{{ name }} is null or e.{{ name }} is null
                or abs(a.{{ name }} - e.{{ name }}) > 1e-6 then '{{ name }}'
        {%- else %}
            when a.{{ name }} is null and e.{{ name }} is null then null
            when a.{{ name }} is null or e.{{ name }} is null
                or a.{{ name }} <> e.{{ name }} then '{{ name }}'
        {%- endif %}
        end as differs_{{ name }}
    {%- endfor %}
    from (select *, 1 as present from {{ actual }}) as a
    full outer join (select *, 1 as present from {{ expected }}) as e
        on {% for key in keys %}a.{{ key }} = e.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
)

select
    {%- for key in keys %}
    {{ key }},
    {%- endfor %}
    case
        when in_model is null then 'only expected'
        when in_expected is null then 'only in the model'
        else coalesce(
        {%- for name, numeric in values %}
            differs_{{ name }}{{ ',' if not loop.last }}
        {%- endfor %})
    end as difference
from joined
where in_model is null or in_expected is null
{%- for name, numeric in values %}
    or differs_{{ name }} is not null
{%- endfor %}
{%- endmacro %}
